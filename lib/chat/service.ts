import type { Clock } from "../clock/mod.ts";
import { newId } from "../ids/mod.ts";
import { type Broker, formatCursor, type Position } from "../realtime/mod.ts";
import {
  type Presence,
  type PresenceHandle,
  type PresenceMember,
  presenceTopic,
} from "../presence/mod.ts";
import { storageFullMessage, type StorageGate } from "../storage_budget/mod.ts";
import { utf8Bytes } from "../text/mod.ts";
import { ChatError } from "./errors.ts";
import {
  channelTopic,
  type HistoryPage,
  type LatestMessages,
  latestMessages,
  messageOf,
  type MessagesAfter,
  messagesAfter,
  messagesBefore,
} from "./history.ts";
import {
  type ChatMessage,
  checkContent,
  INITIAL_MESSAGES,
  isChannelId,
  type OnlineUser,
} from "./protocol.ts";
import { TypingTracker, type Typist } from "./typing.ts";

/** Who sends. */
export interface ChatAuthor {
  userId: string;
  username: string;
}

/** What a client sends as a message. */
export interface MessageInput {
  content: string;
  threadId?: string | null | undefined;
  clientMessageId?: string | null | undefined;
}

/** A stored message, its resume cursor, and whether it had been stored before (a resend). */
export interface SentMessage {
  message: ChatMessage;
  cursor: string;
  duplicate: boolean;
}

/** The ephemeral message typing goes out as, on the channel's topic. */
export interface TypingSignal {
  type: "typing";
  userId: string;
  username: string;
  isTyping: boolean;
}

/** A connection that joined a channel: what its `initial_state` needs, and its presence. */
export interface Joined {
  state: JoinState;
  presence: PresenceHandle;
}

/** What a connection needs before its `initial_state`, read in one round trip. */
export interface JoinState {
  /** Where the channel's presence topic is: presence events after it follow. */
  presenceStart: Position | null;
  /** Who was online (read while this connection entered: it may be listed or not yet). */
  onlineUsers: OnlineUser[];
  /** The connections counted in `onlineUsers`. */
  connectionIds: Set<string>;
  /** The newest messages and where the stream continues; null for a resuming connection. */
  latest: LatestMessages | null;
}

/** Options of {@linkcode ChatService}. */
export interface ChatServiceOptions {
  broker: Broker;
  presence: Presence;
  /** Called once per newly stored message (metrics). */
  onMessage?(message: ChatMessage): void;
  /** Called when a background step fails (typing announcements). */
  onError?(error: unknown, where: string): void;
  /** The chat storage budget: a message that does not fit is refused with `storage_full`. */
  storage?: StorageGate | undefined;
  /** Typing refreshes announced at most this often per user (default 1500 ms). */
  typingThrottleMs?: number;
  /** Typing stops without a refresh after this long (default 5000 ms). */
  typingTimeoutMs?: number;
  /** Times typing's throttle and expiry (default: the system clock). */
  clock?: Clock;
}

function onlineUser(member: PresenceMember): OnlineUser {
  return {
    userId: member.userId,
    username: member.name,
    status: member.status,
    connections: member.connections,
  };
}

/** The scope of a channel's presence; its events arrive on topic `presence:channel:<id>`. */
export function channelScope(channelId: string): string {
  return `channel:${channelId}`;
}

function requireChannel(channelId: string): void {
  if (!isChannelId(channelId)) {
    throw new ChatError(
      "invalid_channel",
      `"${
        channelId.slice(0, 70)
      }" is not a channel name: use 1-64 lowercase letters, digits, _ or -`,
    );
  }
}

/**
 * Chat channels on the realtime core: messages are events of topic
 * `channel:<id>` (stored before anyone sees them), presence is the `Presence`
 * scope `channel:<id>`, typing goes out as ephemeral messages on the channel's
 * topic and is never stored.
 *
 * @example
 * ```ts
 * import { MemoryBroker } from "../realtime/mod.ts";
 * import { MemoryPresence } from "../presence/mod.ts";
 *
 * const broker = new MemoryBroker();
 * const chat = new ChatService({ broker, presence: new MemoryPresence(broker) });
 * const { message } = await chat.send("lobby", { userId: "ada", username: "Ada" }, {
 *   content: "Hello",
 *   clientMessageId: "c1",
 * });
 * ```
 */
export class ChatService implements Disposable {
  readonly broker: Broker;
  readonly presence: Presence;
  #typing: TypingTracker;
  #storage: StorageGate | undefined;
  #onMessage: NonNullable<ChatServiceOptions["onMessage"]>;
  #onError: NonNullable<ChatServiceOptions["onError"]>;
  #rosters = new Map<string, { queued: Promise<PresenceMember[]> | null; last: Promise<void> }>();

  constructor(options: ChatServiceOptions) {
    this.broker = options.broker;
    this.presence = options.presence;
    this.#storage = options.storage;
    this.#onMessage = options.onMessage ?? (() => {});
    this.#onError = options.onError ?? (() => {});
    this.#typing = new TypingTracker({
      throttleMs: options.typingThrottleMs,
      timeoutMs: options.typingTimeoutMs,
      clock: options.clock,
      announce: (typist, isTyping) => this.#announceTyping(typist, isTyping),
    });
  }

  /**
   * Validates and stores a message. With a `clientMessageId`, sending again
   * (e.g. after a reconnect) returns the first stored message (`duplicate`)
   * instead of storing a second one. The sender stops typing.
   */
  async send(channelId: string, author: ChatAuthor, input: MessageInput): Promise<SentMessage> {
    requireChannel(channelId);
    const check = checkContent(input.content);
    if (!check.ok) throw new ChatError(check.code, check.message);
    const now = Date.now();
    const clientMessageId = input.clientMessageId ?? null;
    const message: ChatMessage = {
      id: newId(now),
      channelId,
      userId: author.userId,
      username: author.username,
      content: check.content,
      threadId: input.threadId ?? null,
      timestamp: new Date(now).toISOString(),
      clientMessageId,
    };
    // Counted before the commit (sends pile up while one commits), given back if
    // nothing new was stored.
    const bytes = this.#storage ? utf8Bytes(JSON.stringify(message)) : 0;
    if (this.#storage) {
      if (!this.#storage.allows("chat", bytes)) {
        throw new ChatError("storage_full", storageFullMessage("chat"));
      }
      this.#storage.add("chat", bytes);
    }
    const event = await this.broker.publish(channelTopic(channelId), message, {
      idempotencyKey: clientMessageId ? `${author.userId}:${clientMessageId}` : undefined,
    }).catch((error) => {
      this.#storage?.add("chat", -bytes);
      throw error;
    });
    this.#typing.stop(channelId, author.userId);
    if (event.duplicate) this.#storage?.add("chat", -bytes);
    else this.#onMessage(message);
    return {
      message: messageOf(event) ?? message,
      cursor: formatCursor(event),
      duplicate: event.duplicate,
    };
  }

  /**
   * Reads what a new connection's `initial_state` needs, all at once (one KV round
   * trip): the presence topic's position, who is online, and (unless it resumes)
   * the newest messages.
   */
  async prepareJoin(channelId: string, options: { resume?: boolean } = {}): Promise<JoinState> {
    requireChannel(channelId);
    const [presenceStart, members, latest] = await Promise.all([
      this.broker.head(presenceTopic(channelScope(channelId))),
      this.#members(channelId),
      options.resume ? null : this.latest(channelId),
    ]);
    return {
      presenceStart,
      onlineUsers: members.map(onlineUser),
      connectionIds: new Set(members.flatMap((member) => member.connectionIds)),
      latest,
    };
  }

  /**
   * Joins a connection to a channel: reads what its `initial_state` needs and
   * enters presence, at the same time. Entering before `initial_state` goes out
   * means anyone who connects after this connection got its `initial_state` sees
   * it online. If either fails, nothing stays behind.
   */
  async join(
    channelId: string,
    entry: { userId: string; name: string; connectionId: string },
    options: { resume?: boolean } = {},
  ): Promise<Joined> {
    const [state, presence] = await Promise.allSettled([
      this.prepareJoin(channelId, options),
      this.presence.enter(channelScope(channelId), entry),
    ]);
    if (state.status === "fulfilled" && presence.status === "fulfilled") {
      return { state: state.value, presence: presence.value };
    }
    if (presence.status === "fulfilled") await presence.value.leave().catch(() => {});
    throw state.status === "rejected" ? state.reason : (presence as PromiseRejectedResult).reason;
  }

  /** A typing change of a user (throttled; stops by itself after the timeout). */
  typing(typist: Typist, isTyping: boolean): void {
    requireChannel(typist.channelId);
    this.#typing.update(typist, isTyping);
  }

  /** Stops a user's typing (they left). */
  stopTyping(channelId: string, userId: string): void {
    this.#typing.stop(channelId, userId);
  }

  /** The newest messages (default 50) and the position a live stream continues from. */
  latest(channelId: string, options: { limit?: number } = {}): Promise<LatestMessages> {
    requireChannel(channelId);
    return latestMessages(this.broker, channelId, { limit: options.limit ?? INITIAL_MESSAGES });
  }

  /** A page of history before a position (the newest page without one). */
  history(
    channelId: string,
    options: { before?: Position | null; limit?: number } = {},
  ): Promise<HistoryPage> {
    requireChannel(channelId);
    return messagesBefore(this.broker, channelId, {
      before: options.before,
      limit: options.limit ?? INITIAL_MESSAGES,
    });
  }

  /** Exactly the messages after one (for `sync`); `unknown_message` when it is not retained. */
  after(
    channelId: string,
    afterMessageId: string,
    options: { limit?: number; maxBytes?: number } = {},
  ): Promise<MessagesAfter> {
    requireChannel(channelId);
    return messagesAfter(this.broker, channelId, afterMessageId, {
      limit: options.limit ?? 200,
      maxBytes: options.maxBytes ?? 256 * 1024,
    });
  }

  /**
   * Users online in a channel now. Calls that arrive while a listing runs share
   * the next one (which starts after they arrived, so it includes whatever they
   * did before): a reconnect storm of N clients costs a few listings, not N.
   */
  async online(channelId: string): Promise<OnlineUser[]> {
    return (await this.#members(channelId)).map(onlineUser);
  }

  #members(channelId: string): Promise<PresenceMember[]> {
    let roster = this.#rosters.get(channelId);
    if (!roster) this.#rosters.set(channelId, roster = { queued: null, last: Promise.resolve() });
    if (roster.queued) return roster.queued;
    const state = roster;
    const queued = state.last.then(() => {
      state.queued = null;
      return this.#listOnline(channelId);
    });
    state.queued = queued;
    const settled = queued.then(() => {}, () => {});
    state.last = settled;
    void settled.then(() => {
      if (state.last === settled && !state.queued) this.#rosters.delete(channelId);
    });
    return queued;
  }

  #listOnline(channelId: string): Promise<PresenceMember[]> {
    return this.presence.list(channelScope(channelId));
  }

  #announceTyping(typist: Typist, isTyping: boolean): void {
    const signal: TypingSignal = {
      type: "typing",
      userId: typist.userId,
      username: typist.username,
      isTyping,
    };
    this.broker.publishEphemeral(channelTopic(typist.channelId), signal)
      .catch((error) => this.#onError(error, "typing"));
  }

  [Symbol.dispose](): void {
    this.#typing[Symbol.dispose]();
  }
}
