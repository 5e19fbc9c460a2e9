import { type ClientStatus, RealtimeClient, type ServerFrame } from "./realtime_client.ts";

/** Where a {@linkcode Switchboard} connects and as whom. */
export interface SwitchboardOptions {
  /** The server's origin, e.g. `https://switchboard.example` (default: the page's own). */
  baseUrl?: string;
  /**
   * A user token (minted by your backend with `POST /api/tokens`), or a function
   * that returns a fresh one; called before every (re)connect. Sent as the
   * WebSocket subprotocol `token.<token>`, never in the URL.
   */
  token: string | (() => string | Promise<string>);
  /**
   * The WebSocket class; default `globalThis.WebSocket` (browsers, Deno, Node ≥ 22).
   * On Node 20 pass the `ws` package's through `wsAdapter`: `wsAdapter(WebSocket)`.
   */
  WebSocket?: typeof WebSocket;
  /** Backoff bounds of every connection (default 1 s → 30 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** What every subscription takes besides its frame handler. */
export interface SubscriptionOptions {
  /** Resume after this cursor (or `all`, `10m`, `2h`, a time) on the first connect. */
  since?: string;
  /** Connection states: "connecting", "open", "reconnecting", "closed". */
  onStatus?: (status: ClientStatus) => void;
}

/** One event of a topic, as `GET /api/ws/topics/<topic>` sends it. */
export interface TopicEventFrame<T = unknown> extends ServerFrame {
  type: "event";
  topic: string;
  offset: number;
  cursor: string;
  /** When it was published (ms since the epoch). */
  time: number;
  data: T;
}

/** A notification as the notification stream sends it. */
export interface NotificationFrameData extends ServerFrame {
  id: string;
  type: string;
  timestamp: string;
  requiresAck: boolean;
  data: Record<string, unknown>;
  /** Human-readable text rendered by the server from the type and data. */
  message: string;
  retry?: number;
  redelivered?: boolean;
}

/** A chat channel connection: its frames arrive in `onFrame`; `say()` sends a message. */
export interface ChatConnection {
  /** Sends a chat message (queued while offline, sent in order once connected). */
  say(content: string, options?: { clientMessageId?: string; threadId?: string }): void;
  /** Tells the others whether you are typing. */
  typing(isTyping: boolean): void;
  /** The underlying connection (status, cursor, `send()` for any frame). */
  client: RealtimeClient;
  close(): void;
}

/**
 * The Switchboard client: topics, notifications and chat over WebSocket, each
 * reconnecting with backoff and jitter, resuming from its last cursor (nothing
 * lost, nothing twice), and queueing what you send while offline.
 *
 * @example
 * ```ts
 * const board = new Switchboard({ baseUrl: "http://localhost:8000", token: "<user token>" });
 * const feed = board.notifications((notification) => console.log(notification.message));
 * const news = board.topic("app:news", (event) => console.log(event.data), { since: "10m" });
 * const lobby = board.chat("lobby", (frame) => console.log(frame.type));
 * lobby.say("hello");
 * feed.close();
 * news.close();
 * lobby.close();
 * ```
 */
export class Switchboard {
  #options: SwitchboardOptions;

  constructor(options: SwitchboardOptions) {
    this.#options = options;
  }

  /** A URL on the server, with `since` when resuming. */
  #url(path: string, cursor: string | null, since: string | undefined): string {
    const base = this.#options.baseUrl ?? globalThis.location?.origin ?? "";
    const start = cursor ?? since;
    return `${base}${path}${start ? `?since=${encodeURIComponent(start)}` : ""}`;
  }

  #open<F extends ServerFrame>(
    path: string,
    onFrame: (frame: F) => void,
    options: SubscriptionOptions & { frameId?: (frame: F) => string | undefined } = {},
  ): RealtimeClient<F> {
    const token = this.#options.token;
    const client = new RealtimeClient<F>({
      url: (cursor) => this.#url(path, cursor, options.since),
      token: typeof token === "string" ? () => token : token,
      onFrame,
      ...(options.onStatus ? { onStatus: options.onStatus } : {}),
      ...(options.frameId ? { frameId: options.frameId } : {}),
      ...(this.#options.WebSocket ? { WebSocket: this.#options.WebSocket } : {}),
      ...(this.#options.minDelayMs ? { minDelayMs: this.#options.minDelayMs } : {}),
      ...(this.#options.maxDelayMs ? { maxDelayMs: this.#options.maxDelayMs } : {}),
    });
    client.start();
    return client;
  }

  /**
   * Follows a topic (`app:*` needs a token with `topics:read`; `user:<you>` is
   * always yours). `onEvent` gets each event once, in offset order.
   */
  topic<T = unknown>(
    topic: string,
    onEvent: (event: TopicEventFrame<T>) => void,
    options: SubscriptionOptions = {},
  ): RealtimeClient<TopicEventFrame<T>> {
    return this.#open<TopicEventFrame<T>>(
      `/api/ws/topics/${encodeURIComponent(topic)}`,
      (frame) => {
        if (frame.type === "event") onEvent(frame);
      },
      options,
    );
  }

  /**
   * Follows the token's user's notifications. Each notification reaches
   * `onNotification` once (re-sends of one you already have are dropped); those
   * that require an ack are acked for you unless `autoAck` is false.
   */
  notifications(
    onNotification: (notification: NotificationFrameData) => void,
    options: SubscriptionOptions & {
      /** Ack `requiresAck` notifications as they arrive (default true). */
      autoAck?: boolean;
      /** Every other frame (`notification.ready`, `notification.read`, errors). */
      onControl?: (frame: ServerFrame) => void;
    } = {},
  ): RealtimeClient<NotificationFrameData> {
    const seen = new Set<string>();
    const client: RealtimeClient<NotificationFrameData> = this.#open<NotificationFrameData>(
      "/api/ws/notifications",
      (frame) => {
        const isNotification = typeof frame.id === "string" && typeof frame.data === "object";
        if (!isNotification) {
          options.onControl?.(frame);
          return;
        }
        // Acked again on a re-send: the first ack may be what got lost.
        if (frame.requiresAck && options.autoAck !== false) {
          client.send({ type: "ack", notificationId: frame.id });
        }
        if (seen.has(frame.id)) return;
        seen.add(frame.id);
        if (seen.size > 5000) seen.delete(seen.values().next().value!);
        onNotification(frame);
      },
      options,
    );
    return client;
  }

  /** Joins a chat channel (needs a token with `chat:read`; `say()` needs `chat:write`). */
  chat(
    channelId: string,
    onFrame: (frame: ServerFrame) => void,
    options: SubscriptionOptions = {},
  ): ChatConnection {
    const client = this.#open(`/api/ws/channels/${encodeURIComponent(channelId)}`, onFrame, {
      ...options,
      frameId: (frame) => {
        const message = frame.message as { id?: unknown } | undefined;
        return frame.type === "message" && typeof message?.id === "string" ? message.id : undefined;
      },
    });
    return {
      client,
      say: (content, extra = {}) => client.send({ type: "message", content, ...extra }),
      typing: (isTyping) => client.send({ type: "typing", isTyping }),
      close: () => client.close(),
    };
  }
}
