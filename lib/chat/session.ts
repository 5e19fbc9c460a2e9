import { formatCursor, type Position, PublishError, type TopicEvent } from "../realtime/mod.ts";
import { type PresenceEvent, type PresenceHandle, presenceTopic } from "../presence/mod.ts";
import { type Connection, deliverTopic } from "../transport/mod.ts";
import { ChatError } from "./errors.ts";
import { channelTopic, messageOf } from "./history.ts";
import type { ChatServerFrame } from "./protocol.ts";
import { TYPING_TIMEOUT_MS } from "./protocol.ts";
import type { ChatClientFrame } from "./schemas.ts";
import { channelScope, type ChatService, type Joined, type TypingSignal } from "./service.ts";
import type { OnlineUser } from "./protocol.ts";

/**
 * The online list read while this connection entered presence, with this connection
 * in it (counted once, whether the read saw its entry or not).
 */
function withUser(
  online: OnlineUser[],
  participant: ChatParticipant,
  counted: boolean,
): OnlineUser[] {
  const own = online.find((user) => user.userId === participant.userId);
  if (own) {
    return online.map((user) =>
      user === own
        ? { ...user, status: "online", connections: user.connections + (counted ? 0 : 1) }
        : user
    );
  }
  const joined: OnlineUser = {
    userId: participant.userId,
    username: participant.username,
    status: "online",
    connections: 1,
    joinedAt: Date.now(),
  };
  // In the order presence lists members: by name.
  return [...online, joined].sort((a, b) => a.username.localeCompare(b.username));
}

/** The user behind a connection, from their token. */
export interface ChatParticipant {
  userId: string;
  username: string;
  /** The token has `chat:write`. */
  canWrite: boolean;
}

/** Options of {@linkcode ChatSession}. */
export interface ChatSessionOptions {
  channelId: string;
  participant: ChatParticipant;
  /** Resume after this position (`?since=`): no history in `initial_state`, the missed messages follow. */
  since?: Position | null | undefined;
  /** Reported in `initial_state` (diagnostics: which isolate serves the connection). */
  isolate?: string | undefined;
  /** Called per message delivered to this connection. */
  onDelivered?(): void;
  onError?(error: unknown, where: string): void;
}

/** Messages of one connection being stored at the same time. */
const MAX_IN_FLIGHT = 64;

// One function for every connection: the core serializes each event's frame once per isolate.
function messageFrame(event: TopicEvent<unknown>, cursor: string): object | null {
  const message = messageOf(event);
  return message ? { type: "message", message, cursor } satisfies ChatServerFrame : null;
}

// Every local subscriber gets the same event object: build each frame's JSON once per isolate.
const frameTexts = new WeakMap<object, string>();
function sharedText(source: object, build: () => ChatServerFrame): string {
  let text = frameTexts.get(source);
  if (text === undefined) frameTexts.set(source, text = JSON.stringify(build()));
  return text;
}

/** The chat frame of a presence event published at `time` (ms; when a user joined). */
function presenceFrame(event: PresenceEvent, time: number): ChatServerFrame {
  switch (event.type) {
    case "user_joined":
      return {
        type: "user_joined",
        user: {
          userId: event.userId,
          username: event.name,
          status: event.status,
          connections: 1,
          joinedAt: Math.floor(time),
        },
      };
    case "user_left":
      return { type: "user_disconnected", userId: event.userId, username: event.name };
    case "presence":
      return {
        type: "presence",
        userId: event.userId,
        username: event.name,
        status: event.status,
      };
  }
}

/**
 * One connection to one channel: sends `initial_state`, streams messages
 * (resumable by cursor), presence changes and other users' typing, and handles
 * the client's frames. The route calls {@linkcode open}, {@linkcode handle} and
 * {@linkcode close} from the transport's callbacks, which run one at a time.
 */
export class ChatSession {
  #chat: ChatService;
  #connection: Connection;
  #options: ChatSessionOptions;
  #presence: Promise<PresenceHandle | null> | null = null;
  #closed = false;
  #inFlight = new Set<Promise<void>>();

  constructor(chat: ChatService, connection: Connection, options: ChatSessionOptions) {
    this.#chat = chat;
    this.#connection = connection;
    this.#options = options;
  }

  #send(frame: ChatServerFrame): void {
    this.#connection.send(frame);
  }

  #fail(error: unknown, clientMessageId?: string | null): void {
    if (error instanceof ChatError || error instanceof PublishError) {
      this.#send({
        type: "error",
        code: error.code,
        message: error.message,
        ...(clientMessageId ? { clientMessageId } : {}),
      });
      return;
    }
    throw error;
  }

  /**
   * Sends `initial_state` and starts the streams. `joined` is what
   * {@linkcode ChatService.join} did (read while the route waited for a place in
   * the channel, presence entered); joins now when not given.
   */
  async open(joined?: Joined): Promise<void> {
    const { channelId, participant } = this.#options;
    const { broker } = this.#chat;
    const resumeFrom = this.#options.since ?? null;
    const done = joined ?? await this.#chat.join(channelId, {
      userId: participant.userId,
      name: participant.username,
      connectionId: this.#connection.id,
    }, { resume: resumeFrom !== null });
    this.#presence = Promise.resolve(done.presence);
    if (this.#closed) {
      await done.presence.leave();
      return;
    }
    const join = done.state;
    const latest = resumeFrom ? null : join.latest;
    const you = { ...participant };
    this.#send({
      type: "initial_state",
      channelId,
      messages: latest?.messages ?? [],
      onlineUsers: withUser(
        join.onlineUsers,
        participant,
        join.connectionIds.has(this.#connection.id),
      ),
      ...(latest ? { cursor: latest.position ? formatCursor(latest.position) : "0" } : {}),
      historyBefore: latest?.historyBefore ?? null,
      resumed: resumeFrom !== null,
      you,
      ...(this.#options.isolate ? { isolate: this.#options.isolate } : {}),
    });
    // An empty channel resumes from offset 0 of whatever epoch its log gets.
    const since = resumeFrom ?? latest?.position ?? { offset: 0, epoch: "" };
    void deliverTopic(broker, channelTopic(channelId), this.#connection, {
      since,
      toFrame: messageFrame,
      onDelivered: this.#options.onDelivered,
    }).catch((error) => this.#options.onError?.(error, "messages"));
    void this.#followPresence(join.presenceStart ?? { offset: 0, epoch: "" })
      .catch((error) => this.#options.onError?.(error, "presence"));
    void this.#followTyping().catch((error) => this.#options.onError?.(error, "typing"));
  }

  async #followPresence(since: Position): Promise<void> {
    const topic = presenceTopic(channelScope(this.#options.channelId));
    // In batches: a burst of joins (1,000 connections arriving) wakes this loop
    // once per batch rather than once per join, and a join is one frame to each
    // of N connections, so the burst is N² frames: their cost per frame is what
    // the connection ramp is made of.
    const batches = this.#chat.broker.subscribeBatches<PresenceEvent>(topic, {
      since,
      signal: this.#connection.signal,
    });
    const { userId } = this.#options.participant;
    // Presence frames carry no cursor: a reconnect gets the current list in initial_state.
    for await (const batch of batches) {
      for (const item of batch) {
        if (item.kind !== "event" || this.#connection.signal.aborted) continue;
        const event = item.event.data;
        // The user's own arrival is already in this connection's initial_state.
        if (event.type === "user_joined" && event.userId === userId) continue;
        this.#connection.send(sharedText(item.event, () => presenceFrame(event, item.event.time)));
      }
    }
  }

  async #followTyping(): Promise<void> {
    const messages = this.#chat.broker.listenEphemeral<TypingSignal>(
      channelTopic(this.#options.channelId),
      { signal: this.#connection.signal },
    );
    for await (const message of messages) {
      const data = message.data;
      // Typing goes to the others only, never back to the typist's own tabs.
      if (data?.type !== "typing" || data.userId === this.#options.participant.userId) continue;
      this.#connection.send(sharedText(message, () => ({
        type: "typing",
        userId: data.userId,
        username: data.username,
        isTyping: data.isTyping === true,
        expiresInMs: TYPING_TIMEOUT_MS,
      })));
    }
  }

  /** Handles one validated client frame. */
  async handle(frame: ChatClientFrame): Promise<void> {
    const { channelId, participant } = this.#options;
    switch (frame.type) {
      case "message": {
        if (!participant.canWrite) return this.#refuseWrite(frame.clientMessageId);
        // Not awaited: the broker takes publishes in call order (and commits them
        // in groups), so a fast sender is not held to one KV round trip per
        // message; at most MAX_IN_FLIGHT wait at a time.
        const task = this.#chat.send(channelId, participant, frame).then((sent) => {
          // A resend is not published again: confirm it to this connection only.
          if (sent.duplicate) {
            this.#send({ type: "message", message: sent.message, duplicate: true });
          }
        }).catch((error) => this.#fail(error, frame.clientMessageId))
          .catch((error) => {
            this.#options.onError?.(error, "message");
            this.#send({
              type: "error",
              code: "internal_error",
              message: "The message could not be stored; send it again",
              ...(frame.clientMessageId ? { clientMessageId: frame.clientMessageId } : {}),
            });
          })
          .finally(() => this.#inFlight.delete(task));
        this.#inFlight.add(task);
        if (this.#inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.#inFlight);
        return;
      }
      case "typing":
        if (!participant.canWrite) return this.#refuseWrite(null);
        this.#chat.typing({ channelId, ...participant }, frame.isTyping);
        return;
      case "presence":
        await (await this.#presence)?.setStatus(frame.status);
        return;
      case "sync": {
        try {
          const found = await this.#chat.after(channelId, frame.afterMessageId);
          this.#send({
            type: "sync",
            afterMessageId: frame.afterMessageId,
            messages: found.messages,
            hasMore: found.hasMore,
          });
        } catch (error) {
          this.#fail(error);
        }
        return;
      }
    }
  }

  #refuseWrite(clientMessageId: string | null | undefined): void {
    this.#send({
      type: "error",
      code: "no_write_permission",
      message: "This token cannot write in this channel (it lacks chat:write)",
      ...(clientMessageId ? { clientMessageId } : {}),
    });
  }

  /** Leaves presence; typing of this user stops. The streams end with the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    this.#chat.stopTyping(this.#options.channelId, this.#options.participant.userId);
    await (await this.#presence)?.leave();
  }
}
