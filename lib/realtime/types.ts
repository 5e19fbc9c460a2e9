import { ApiError } from "../errors/mod.ts";

/** Where a subscriber is in a topic: the last offset it has, in which epoch of the topic. */
export interface Position {
  offset: number;
  epoch: string;
}

/** One event of a topic's log. */
export interface TopicEvent<T = unknown> {
  topic: string;
  /** Gapless and strictly increasing per topic, starting at 1. */
  offset: number;
  /** Changes only when a topic's log starts over; a position from another epoch is void. */
  epoch: string;
  /** Milliseconds since the Unix epoch (with a fraction), when it was published. */
  time: number;
  data: T;
}

/** What a subscription yields: an event, or an explicit notice that events were skipped. */
export type TopicItem<T = unknown> =
  | { kind: "event"; event: TopicEvent<T> }
  | {
    kind: "reset";
    /** `too_far_behind`: the events after the position left retention; `epoch_changed`: the log started over. */
    reason: "too_far_behind" | "epoch_changed";
    /** The subscription continues after this position. */
    from: Position;
  };

/** Options for {@linkcode Broker.subscribe}. */
export interface SubscribeOptions {
  /** Resume after this position; default: only events published from now on. */
  since?: Position | null | undefined;
  /** Ends the subscription. */
  signal?: AbortSignal | undefined;
  /**
   * Called once, before the first item, with where the subscription starts (it
   * yields what comes after `from`) and the log's head as known then (null: the
   * topic has no events yet). A stream's "ready" frame needs no read of its own.
   */
  onStart?: ((start: { from: Position; head: Position | null }) => void) | undefined;
}

/**
 * KV writes committed atomically with an event (one round trip for both): e.g.
 * a notification's record and indexes with its delivery on the user's topic.
 * Only {@linkcode KvBroker} takes them.
 */
export interface EventWrites {
  /** Mutations `write` adds (counted against Deno KV's 1,000 per atomic operation). */
  mutations: number;
  /** About how many bytes `write` adds (counted against the 800 KiB per operation). */
  bytes: number;
  /** Adds the writes to the operation that stores `event`; never adds checks. */
  write(operation: Deno.AtomicOperation, event: TopicEvent): void;
  /**
   * An item for a row shared by the events of one commit that name the same
   * `key`: stored once per commit as `[...key, <commit id>]` → the items in
   * order (e.g. one audit-log row for the hundred recipients a commit stores,
   * not a row each). Counted as one of `mutations`.
   */
  collect?: { key: Deno.KvKey; item: unknown; expireIn?: number };
}

/** Options for {@linkcode Broker.publish}. */
export interface PublishOptions {
  /** Publishing again with the same key returns the first event instead of a new one. */
  idempotencyKey?: string | undefined;
  /** Writes for the same commit as the event (not made for a repeat of an idempotency key). */
  writes?: EventWrites | undefined;
  /**
   * At most this many publishes that carry a limit per topic and minute (by the
   * clock, counted in the topic's head and checked in the publish's own commit,
   * so the limit holds exactly across isolates and instances at no extra round
   * trip). Past it the publish is refused with `rate_limited`.
   */
  perMinute?: number | undefined;
  /**
   * The most this topic may hold: events ever published to it (its offset) and
   * their bytes (counted in its head, checked in the publish's own commit). Past it
   * the publish is refused with `quota_exceeded`. For topics a client can fill (a
   * transfer's signaling), so no one stores without bound.
   */
  quota?: { events: number; bytes: number } | undefined;
}

/** The published event and whether it was already there. */
export type PublishResult<T> = TopicEvent<T> & { duplicate: boolean };

/** Options for {@linkcode Broker.history}. */
export interface HistoryOptions {
  /** Events with offset > after (default 0). */
  after?: number | undefined;
  /** Events with offset < before (default: no bound). */
  before?: number | undefined;
  /** At most this many (default 100, at most 1000). */
  limit?: number | undefined;
  /** Newest first (default false). */
  reverse?: boolean | undefined;
}

/** How long a topic keeps its events. */
export interface RetentionPolicy {
  /** Newest events kept per topic. */
  maxCount: number;
  /** Age after which events are removed. */
  maxAgeMs: number;
}

/**
 * A message sent to a topic's current listeners and never stored in its log: no
 * offset, no replay, no history (typing indicators and similar transient state).
 */
export interface EphemeralMessage<T = unknown> {
  topic: string;
  /** Random id; every path delivers a message once per listener. */
  id: string;
  /** Milliseconds since the Unix epoch (with a fraction), when it was published. */
  time: number;
  data: T;
}

/** Options for {@linkcode Broker.listenEphemeral}. */
export interface ListenOptions {
  /** Ends the listening. */
  signal?: AbortSignal | undefined;
}

/** Ordered topics with gapless offsets, delivered to subscribers on every isolate. */
export interface Broker extends AsyncDisposable {
  /** Appends `data` under the topic's next offset. */
  publish<T>(topic: string, data: T, options?: PublishOptions): Promise<PublishResult<T>>;
  /** Yields the topic's events in offset order, first those after `since`, then live ones. */
  subscribe<T>(topic: string, options?: SubscribeOptions): AsyncIterable<TopicItem<T>>;
  /**
   * The same items as `subscribe`, grouped as they become ready (up to 256 events
   * per array, a reset alone): for consumers that handle many items per wake-up.
   */
  subscribeBatches<T>(
    topic: string,
    options?: SubscribeOptions,
  ): AsyncIterable<TopicItem<T>[]>;
  /** Stored events of a topic. */
  history<T>(topic: string, options?: HistoryOptions): Promise<TopicEvent<T>[]>;
  /** The topic's last position, or null when nothing was published. */
  head(topic: string): Promise<Position | null>;
  /**
   * Sends `data` (≤ 1 KiB of JSON) to whoever listens to the topic right now, on
   * every isolate, without storing it in the log. Best effort: a listener that
   * is not connected at that moment never sees it.
   */
  publishEphemeral<T>(topic: string, data: T): Promise<EphemeralMessage<T>>;
  /** Yields the topic's ephemeral messages published from now on, until the signal aborts. */
  listenEphemeral<T>(topic: string, options?: ListenOptions): AsyncIterable<EphemeralMessage<T>>;
}

/** A publish was refused; its code gives the HTTP status (`quota_exceeded`: 507). */
export class PublishError extends ApiError {
  override name = "PublishError";
  declare readonly code: "event_too_large" | "invalid_topic" | "rate_limited" | "quota_exceeded";
  /** For `rate_limited`: seconds until the topic's minute ends. */
  readonly retryAfterSeconds: number | undefined;
  constructor(code: PublishError["code"], message: string, retryAfterSeconds?: number) {
    super(code, message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The minute a time falls in, and what counts in it (see `PublishOptions.perMinute`). */
export interface PublishWindow {
  /** Minutes since the Unix epoch. */
  minute: number;
  /** Limited publishes in that minute. */
  count: number;
}

/**
 * Counts a limited publish at `time` in `window`: the window after it, or null
 * when the limit is used up (then `retryAfterSeconds` tells until the next minute).
 */
export function countInWindow(
  window: PublishWindow | undefined,
  time: number,
  perMinute: number,
): { window: PublishWindow } | { window: null; retryAfterSeconds: number } {
  const minute = Math.floor(time / 60_000);
  const count = window && window.minute === minute ? window.count : 0;
  if (count >= perMinute) {
    return {
      window: null,
      retryAfterSeconds: Math.max(1, Math.ceil(((minute + 1) * 60_000 - time) / 1000)),
    };
  }
  return { window: { minute, count: count + 1 } };
}
