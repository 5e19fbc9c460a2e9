import { newId } from "../ids/mod.ts";
import { type Broker, formatCursor, type Position } from "../realtime/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import { reportLoopFailures } from "../periodic/mod.ts";
import { type Presence, type PresenceMember, presenceTopic } from "../presence/mod.ts";
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
import { KvOccupancy } from "./kv_occupancy.ts";
import { MemoryOccupancy, type Occupancy } from "./occupancy.ts";
import { Roster } from "./roster.ts";
import type {
  ChatAuthor,
  ChatServiceOptions,
  Joined,
  JoinState,
  MessageInput,
  SentMessage,
  TypingSignal,
} from "./service_types.ts";
import { TypingTracker, type Typist } from "./typing.ts";

export type {
  ChatAuthor,
  ChatServiceOptions,
  Joined,
  JoinState,
  MessageInput,
  SentMessage,
  TypingSignal,
} from "./service_types.ts";

function onlineUser(member: PresenceMember): OnlineUser {
  return {
    userId: member.userId,
    username: member.name,
    status: member.status,
    connections: member.connections,
    joinedAt: member.joinedAt,
  };
}

const rosterViews = new WeakMap<
  PresenceMember[],
  { onlineUsers: OnlineUser[]; connectionIds: Set<string> }
>();
/**
 * A listing as `initial_state` needs it, made once per listing: the joins of a
 * burst share listings (see `Roster`), and each view is as long as the channel,
 * so making it per join was quadratic in a burst of joins.
 */
function rosterView(members: PresenceMember[]) {
  let view = rosterViews.get(members);
  if (!view) {
    view = {
      onlineUsers: members.map(onlineUser),
      connectionIds: new Set(members.flatMap((member) => member.connectionIds)),
    };
    rosterViews.set(members, view);
  }
  return view;
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
export class ChatService implements Disposable, AsyncDisposable {
  readonly broker: Broker;
  readonly presence: Presence;
  /** Connections per channel over every isolate (a channel refuses them past its limit). */
  readonly occupancy: Occupancy;
  #typing: TypingTracker;
  #storage: StorageGate | undefined;
  #onMessage: NonNullable<ChatServiceOptions["onMessage"]>;
  #onError: NonNullable<ChatServiceOptions["onError"]>;
  #roster: Roster;

  constructor(options: ChatServiceOptions) {
    this.broker = options.broker;
    this.presence = options.presence;
    this.occupancy = options.occupancy ?? new MemoryOccupancy();
    this.#storage = options.storage;
    this.#onMessage = options.onMessage ?? (() => {});
    this.#onError = options.onError ?? (() => {});
    this.#roster = new Roster((channelId) => this.presence.list(channelScope(channelId)));
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
      this.#roster.members(channelId),
      options.resume ? null : this.latest(channelId),
    ]);
    return { presenceStart, ...rosterView(members), latest };
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
   * the next one: a reconnect storm of N clients costs a few listings, not N.
   */
  async online(channelId: string): Promise<OnlineUser[]> {
    return (await this.#roster.members(channelId)).map(onlineUser);
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

  /** Stops the typing timers. */
  [Symbol.dispose](): void {
    this.#typing[Symbol.dispose]();
  }

  /** Stops the typing timers and the occupancy's refresh, waiting for its writes in progress. */
  async [Symbol.asyncDispose](): Promise<void> {
    this[Symbol.dispose]();
    await this.occupancy[Symbol.asyncDispose]();
  }
}

/** What the chat job takes from the core. */
export interface ChatCore {
  kv: Deno.Kv;
  broker: Broker;
  presence: Presence;
  storageBudget: StorageGate;
  log: Logger;
  metrics: MetricsRegistry;
  /** Names this isolate's connection counts. */
  isolate: string;
}

/**
 * The chat job of one isolate: a {@linkcode ChatService} with the connection
 * counts of channels in KV, stored messages counted in
 * `switchboard_chat_messages_total`, and background failures logged.
 *
 * @example
 * ```ts
 * declare const core: ChatCore; // the isolate's kv, broker, presence, storage budget, log, metrics
 * await using chat = startChatService(core, { occupancyTtlMs: 30_000 });
 * ```
 */
export function startChatService(
  core: ChatCore,
  options: { occupancyTtlMs: number },
): ChatService {
  const stored = core.metrics.series("switchboard_chat_messages_total");
  return new ChatService({
    broker: core.broker,
    presence: core.presence,
    storage: core.storageBudget,
    occupancy: new KvOccupancy(core.kv, {
      isolate: core.isolate,
      ttlMs: options.occupancyTtlMs,
      onError: reportLoopFailures(core, "chat_occupancy"),
    }),
    onMessage: () => stored.add(),
    onError: (error, where) => core.log.warn("chat_background_failed", { where, error }),
  });
}
