import { newId } from "../ids/mod.ts";
import { type Broker, formatCursor, type Position } from "../realtime/mod.ts";
import { type Presence, presenceTopic } from "../presence/mod.ts";
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

/** What a connection needs before its `initial_state`, read in one round trip. */
export interface JoinState {
  /** Where the channel's presence topic is: presence events after it follow. */
  presenceStart: Position | null;
  /** Who was online (before this connection entered). */
  onlineUsers: OnlineUser[];
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
  /** Typing refreshes announced at most this often per user (default 1500 ms). */
  typingThrottleMs?: number;
  /** Typing stops without a refresh after this long (default 5000 ms). */
  typingTimeoutMs?: number;
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
 * const chat = new ChatService({ broker: new MemoryBroker(), presence });
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
  #onMessage: NonNullable<ChatServiceOptions["onMessage"]>;
  #onError: NonNullable<ChatServiceOptions["onError"]>;
  #rosters = new Map<string, { queued: Promise<OnlineUser[]> | null; last: Promise<void> }>();

  constructor(options: ChatServiceOptions) {
    this.broker = options.broker;
    this.presence = options.presence;
    this.#onMessage = options.onMessage ?? (() => {});
    this.#onError = options.onError ?? (() => {});
    this.#typing = new TypingTracker({
      throttleMs: options.typingThrottleMs,
      timeoutMs: options.typingTimeoutMs,
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
    const event = await this.broker.publish(channelTopic(channelId), message, {
      idempotencyKey: clientMessageId ? `${author.userId}:${clientMessageId}` : undefined,
    });
    this.#typing.stop(channelId, author.userId);
    if (!event.duplicate) this.#onMessage(message);
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
    const [presenceStart, onlineUsers, latest] = await Promise.all([
      this.broker.head(presenceTopic(channelScope(channelId))),
      this.online(channelId),
      options.resume ? null : this.latest(channelId),
    ]);
    return { presenceStart, onlineUsers, latest };
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
  online(channelId: string): Promise<OnlineUser[]> {
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

  async #listOnline(channelId: string): Promise<OnlineUser[]> {
    const members = await this.presence.list(channelScope(channelId));
    return members.map((member) => ({
      userId: member.userId,
      username: member.name,
      status: member.status,
      connections: member.connections,
    }));
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
