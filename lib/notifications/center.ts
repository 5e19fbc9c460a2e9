import {
  type Broker,
  formatCursor,
  type Position,
  PublishError,
  type TopicEvent,
} from "../realtime/mod.ts";
import { type Connection, deliverTopic } from "../transport/mod.ts";
import { NotificationError } from "./errors.ts";
import {
  frameForPayload,
  type NotificationFrame,
  READ_FRAME,
  READY_FRAME,
  sseEventName,
  type UserTopicPayload,
} from "./frames.ts";
import {
  isMuted,
  type NotificationRecord,
  type NotificationStatus,
  type Preferences,
  toNotification,
} from "./record.ts";
import { type Clock, systemClock } from "../clock/mod.ts";
import { reportLoopFailures } from "../periodic/mod.ts";
import { RetryDriver } from "./retry.ts";
import { newSeq, NotificationStore, type NotificationStoreOptions } from "./store.ts";
import { newId } from "../ids/mod.ts";
import { NotificationTypes } from "./types.ts";
import { utf8Bytes } from "../text/mod.ts";

/** What user ids look like (the same rule as token subjects minted by `POST /api/tokens`). */
const USER_ID_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;
/** What notification ids given by publishers look like. */
const NOTIFICATION_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** The settings notifications read (names as in the environment; defaults as documented). */
export interface NotificationSettings {
  NOTIFY_RETRY_INTERVAL_MS?: number;
  NOTIFY_MAX_RETRIES?: number;
  NOTIFY_MAX_DATA_BYTES?: number;
  NOTIFY_MAX_RECIPIENTS?: number;
  NOTIFY_USER_PER_MINUTE?: number;
  NOTIFY_EXTRA_TYPES?: readonly string[];
  /** "on": tell the other isolates of this process when preferences change (default off). */
  BROADCAST_CHANNEL?: "on" | "off";
}

/** What the notification center needs (the notifications service hands it the core's). */
export interface NotificationDeps {
  kv: Deno.Kv;
  broker: Broker;
  config: NotificationSettings;
  metrics?: {
    increment(name: string, labels?: Record<string, string>, amount?: number): void;
    /** A handle on one series (hot paths: no key building per call). */
    series?(name: string, labels?: Record<string, string>): { add(amount?: number): void };
  };
  log?: {
    warn(event: string, fields?: Record<string, unknown>): void;
    error(event: string, fields?: Record<string, unknown>): void;
  };
  /** Names this isolate in retry leases. */
  isolate?: string;
  /**
   * Told what each publish sent (not muted, duplicate or rate limited), after its commit.
   * Must return at once: Web Push (lib/push) schedules its own work off this path.
   */
  push?: { published(notifications: readonly NotificationRecord[]): void };
}

/** Options of {@linkcode NotificationCenter}. */
export interface NotificationCenterOptions extends NotificationStoreOptions {
  /** Run the takeover sweep (default true). */
  sweep?: boolean;
  /** Sweep period (default max(retry interval, 1 s)). */
  sweepMs?: number;
  /** Chance per publish to trim the user's history to `maxHistory` (default 1/50). */
  trimChance?: number;
  /** The time of publishes and of re-sends, and the retry timers (default {@linkcode systemClock}). */
  clock?: Clock;
}

/** One publish: to whom, what, and how. */
export interface PublishRequest {
  userIds: readonly string[];
  type: string;
  data: unknown;
  requiresAck?: boolean | undefined;
  /** Makes the publish idempotent: the same id again for a user stores and sends nothing new. */
  id?: string | undefined;
}

/** What happened for one recipient. */
export interface PublishOutcome {
  userId: string;
  /** The notification's id (for a rate-limited recipient: the id it would have had). */
  id: string;
  /** A notification with this id already existed for the user. */
  duplicate: boolean;
  /** The user muted this type or group: stored in history, not pushed. */
  muted: boolean;
  /**
   * The user already got `NOTIFY_USER_PER_MINUTE` notifications this minute:
   * nothing was stored or sent for them; try again after `retryAfterSeconds`.
   */
  rateLimited?: { retryAfterSeconds: number };
}

/** The topic of a user's notifications. */
export function userTopic(userId: string): string {
  return `user:${userId}`;
}

/**
 * Notifications on the realtime core: validates against the type registry,
 * stores per-user records, publishes on the user's topic `user:<userId>` (so
 * every connection of the user on every isolate gets it, with resume), drives
 * re-sends of unacked ones, and keeps read state, history and the audit log.
 *
 * @example
 * ```ts
 * import { KvBroker } from "../realtime/mod.ts";
 *
 * const kv = await Deno.openKv(":memory:");
 * await using center = new NotificationCenter({ kv, broker: new KvBroker(kv), config: {} });
 * await center.publish({ userIds: ["ada"], type: "success", data: { message: "Done" } });
 * ```
 */
export class NotificationCenter implements AsyncDisposable {
  /** The per-user records. */
  readonly store: NotificationStore;
  /** The type registry in use. */
  readonly types: NotificationTypes;
  readonly #deps: NotificationDeps;
  readonly #retries: RetryDriver;
  readonly #intervalMs: number;
  readonly #maxDataBytes: number;
  readonly #maxRecipients: number;
  readonly #perMinute: number;
  readonly #trimChance: number;
  readonly #clock: Clock;
  readonly #delivered = new Set<string>();
  readonly #deliveredQueue: { userId: string; seq: string }[] = [];
  #deliveredTimer: ReturnType<typeof setTimeout> | undefined;
  /** Tells the other isolates of this process which user's preferences changed. */
  #preferencesChannel: BroadcastChannel | null = null;

  constructor(deps: NotificationDeps, options: NotificationCenterOptions = {}) {
    this.#deps = deps;
    this.store = new NotificationStore(deps.kv, options);
    this.types = new NotificationTypes(deps.config.NOTIFY_EXTRA_TYPES ?? []);
    this.#intervalMs = deps.config.NOTIFY_RETRY_INTERVAL_MS ?? 5000;
    this.#maxDataBytes = deps.config.NOTIFY_MAX_DATA_BYTES ?? 16 * 1024;
    this.#maxRecipients = deps.config.NOTIFY_MAX_RECIPIENTS ?? 1000;
    this.#perMinute = deps.config.NOTIFY_USER_PER_MINUTE ?? 120;
    this.#trimChance = options.trimChance ?? 1 / 50;
    this.#clock = options.clock ?? systemClock;
    this.#retries = new RetryDriver({
      store: this.store,
      owner: `${deps.isolate ?? "isolate"}:${newId().slice(-10).toLowerCase()}`,
      intervalMs: this.#intervalMs,
      maxRetries: deps.config.NOTIFY_MAX_RETRIES ?? 3,
      sweepMs: options.sweepMs,
      clock: this.#clock,
      resend: (record, attempt) => this.#resend(record, attempt),
      onFailed: () => this.#count("failed"),
      onTakeover: () => this.#count("takeover"),
      onError: reportLoopFailures({
        log: deps.log ?? { warn: () => {} },
        metrics: deps.metrics ?? { increment: () => {} },
      }, "notification_retry"),
    });
    if (options.sweep ?? true) this.#retries.startSweeping();
    if (deps.config.BROADCAST_CHANNEL === "on") {
      this.#preferencesChannel = new BroadcastChannel("switchboard:notification-preferences");
      this.#preferencesChannel.onmessage = (message: MessageEvent<string>) => {
        if (typeof message.data === "string") this.store.forgetPreferences(message.data);
      };
    }
  }

  readonly #counters = new Map<string, { add(amount?: number): void }>();
  /** Events already noted as delivered on this isolate. */
  readonly #noted = new WeakSet<object>();

  #count(event: string, amount = 1): void {
    this.#series("switchboard_notifications_total", "event", event)?.add(amount);
  }

  #series(name: string, label: string, value: string): { add(amount?: number): void } | undefined {
    const metrics = this.#deps.metrics;
    if (!metrics) return undefined;
    const id = `${name}\u0000${value}`;
    let counter = this.#counters.get(id);
    if (!counter) {
      counter = metrics.series?.(name, { [label]: value }) ??
        { add: (amount = 1) => metrics.increment(name, { [label]: value }, amount) };
      this.#counters.set(id, counter);
    }
    return counter;
  }

  /** Notifications whose retries this isolate drives. */
  get drivingRetries(): number {
    return this.#retries.driving;
  }

  /**
   * Checks a publish without doing it: recipients, type, data and its size.
   * Throws {@linkcode NotificationError}; returns the validated data.
   */
  validate(request: PublishRequest): Record<string, unknown> {
    if (request.userIds.length === 0) {
      throw new NotificationError("invalid_user", "userId or userIds is required");
    }
    if (request.userIds.length > this.#maxRecipients) {
      throw new NotificationError(
        "too_many_recipients",
        `At most ${this.#maxRecipients} userIds per publish`,
      );
    }
    const badUser = request.userIds.find((userId) => !USER_ID_PATTERN.test(userId));
    if (badUser !== undefined) {
      throw new NotificationError(
        "invalid_user",
        `"${badUser.slice(0, 64)}" is not a user id (1-64 letters, digits, _ . @ -)`,
      );
    }
    if (request.id !== undefined && !NOTIFICATION_ID_PATTERN.test(request.id)) {
      throw new NotificationError(
        "invalid_data",
        "id must be 1-128 letters, digits, _ . : @ -",
        { issues: [{ path: "id", message: "1-128 letters, digits, _ . : @ -" }] },
      );
    }
    const size = utf8Bytes(JSON.stringify(request.data) ?? "");
    if (size > this.#maxDataBytes) {
      throw new NotificationError(
        "data_too_large",
        `data is ${size} bytes; at most ${this.#maxDataBytes}`,
      );
    }
    const checked = this.types.check(request.type, request.data);
    if (!checked.ok) {
      throw new NotificationError(checked.code, checked.message, { issues: checked.issues });
    }
    return checked.data;
  }

  /**
   * Publishes one notification to each user. For each user, the record with its
   * indexes and the event on the user's topic `user:<userId>` are one atomic
   * commit: one KV round trip from request to delivery, many users per commit.
   * A type or group the user muted is stored too, as a `muted` event that no
   * connection receives. `requiresAck` ones are then re-sent by this isolate
   * until acked. With an `id`, publishing again stores and sends nothing new
   * (the topic's idempotency key). Returns one outcome per distinct user.
   */
  async publish(request: PublishRequest): Promise<PublishOutcome[]> {
    const data = this.validate(request);
    const userIds = [...new Set(request.userIds)];
    const requiresAck = request.requiresAck ?? false;
    const now = this.#clock.now();
    const firstAt = now + this.#intervalMs;
    // One time-ordered id for the publish: the id of every recipient's notification
    // (unless the publisher chose one) and the order of history and the audit log.
    const seq = newSeq(now);
    const preferences = await this.store.preferencesOf(userIds);
    const id = request.id ?? seq;
    const dataBytes = utf8Bytes(JSON.stringify(data));
    const idempotencyKey = request.id === undefined ? undefined : `notification:${request.id}`;
    const retry = requiresAck
      ? { owner: this.#retries.owner, firstAt, leaseUntil: firstAt + this.#intervalMs }
      : undefined;
    // Every recipient gets the same notification (id, type, time, data, message): one
    // payload object each for sent and muted ones, shared by all their events (its
    // message rendered once; one copy per BroadcastChannel post).
    let shared: { sent: StoredNotification; muted: StoredNotification } | undefined;
    const payloadOf = (record: NotificationRecord, muted: boolean): StoredNotification => {
      shared ??= {
        sent: { kind: "notification", notification: toNotification(record), seq },
        muted: { kind: "muted", notification: toNotification(record), seq },
      };
      return muted ? shared.muted : shared.sent;
    };
    const sent: NotificationRecord[] = [];
    const counts = { published: 0, muted: 0, duplicate: 0, rateLimited: 0 };
    // All at once: the topic log puts the events of many users into shared commits.
    const outcomes = await Promise.all(userIds.map(async (userId): Promise<PublishOutcome> => {
      const muted = isMuted(preferences.get(userId) ?? null, request.type, data);
      const { record, writes } = this.store.prepare({
        userId,
        id,
        seq,
        type: request.type,
        data,
        dataBytes,
        requiresAck,
        now,
        muted,
        retry,
      });
      const payload = payloadOf(record, muted);
      let event;
      try {
        event = await this.#deps.broker.publish(userTopic(userId), payload, {
          idempotencyKey,
          writes,
          // Counted in the user topic's head, within this very commit: exact on every isolate.
          perMinute: this.#perMinute,
        });
      } catch (error) {
        if (!(error instanceof PublishError) || error.code !== "rate_limited") throw error;
        counts.rateLimited += 1;
        return {
          userId,
          id: record.id,
          duplicate: false,
          muted,
          rateLimited: { retryAfterSeconds: error.retryAfterSeconds ?? 60 },
        };
      }
      if (event.duplicate) {
        counts.duplicate += 1;
        const stored: unknown = event.data;
        const first =
          isPayload(stored) && (stored.kind === "notification" || stored.kind === "muted")
            ? stored
            : payload;
        return {
          userId,
          id: first.notification.id,
          duplicate: true,
          muted: first.kind === "muted",
        };
      }
      if (muted) {
        counts.muted += 1;
      } else {
        counts.published += 1;
        sent.push(record);
        if (record.nextRetryAt !== null) {
          this.#retries.track(record.userId, record.id, record.nextRetryAt);
        }
      }
      if (Math.random() < this.#trimChance) {
        this.store.trim(userId).catch((error) =>
          this.#deps.log?.warn("notification_trim_failed", { error })
        );
      }
      return { userId, id: record.id, duplicate: false, muted };
    })).finally(() => {
      // Counted once per publish, not per recipient.
      if (counts.published > 0) {
        this.#count("published", counts.published);
        this.#series("switchboard_publishes_total", "kind", "notifications")?.add(
          counts.published,
        );
      }
      if (counts.muted > 0) this.#count("muted", counts.muted);
      if (counts.duplicate > 0) this.#count("duplicate", counts.duplicate);
      if (counts.rateLimited > 0) this.#count("rate_limited", counts.rateLimited);
    });
    if (sent.length > 0) this.#deps.push?.published(sent);
    return outcomes;
  }

  async #resend(record: NotificationRecord, attempt: number): Promise<void> {
    const payload: UserTopicPayload = {
      kind: "retry",
      notification: toNotification(record),
      attempt,
      seq: record.seq,
    };
    const event = await this.#deps.broker.publish(userTopic(record.userId), payload, {
      idempotencyKey: `retry:${record.id}:${attempt}`,
    });
    if (!event.duplicate) this.#count("retried");
  }

  /**
   * Records that a notification reached a connection: once per isolate and
   * notification, written in batches (a delivery burst costs a few commits,
   * not one per connection).
   */
  noteDelivered(userId: string, seq: string): void {
    const key = `${userId}\u0000${seq}`;
    if (this.#delivered.has(key)) return;
    this.#delivered.add(key);
    if (this.#delivered.size > 20_000) {
      this.#delivered.delete(this.#delivered.values().next().value!);
    }
    this.#deliveredQueue.push({ userId, seq });
    this.#deliveredTimer ??= setTimeout(() => void this.#flushDelivered(), 20);
  }

  async #flushDelivered(): Promise<void> {
    while (this.#deliveredQueue.length > 0) {
      // All that queued up meanwhile (500 per commit, concurrently): a fan-out's marks
      // land together, not as a train of commits that each wait for the one before.
      const batch = this.#deliveredQueue.splice(0, 2000);
      try {
        await this.store.markDeliveredMany(batch);
      } catch (error) {
        this.#deps.log?.warn("notification_delivery_record_failed", { error });
      }
    }
    this.#deliveredTimer = undefined;
  }

  /**
   * Streams a user's notifications to one connection until it closes: replay
   * after `since`, then live ones (new notifications, re-sends, read events).
   * Once the replay caught up, notifications still waiting for an ack are sent
   * again (`redelivered: true`, no cursor), so nothing unacked is lost when the
   * isolate driving its retries died or the user was away.
   *
   * Over SSE, notifications are unnamed events (EventSource `onmessage` gets
   * them; `data` carries the type) unless `namedEvents` names each after its
   * type; control frames (`notification.ready`, `notification.read`, `error`)
   * are always named, so they never reach `onmessage`.
   */
  async stream(
    connection: Connection,
    userId: string,
    since: Position | null,
    options: StreamOptions = {},
  ): Promise<void> {
    const topic = userTopic(userId);
    const named = options.namedEvents ?? false;
    let replayUntil = 0;
    const seen = new Set<string>();
    let redelivered = false;
    const redeliver = async () => {
      if (redelivered || connection.signal.aborted) return;
      redelivered = true;
      for (const record of await this.store.unacknowledged(userId)) {
        if (seen.has(record.id)) continue;
        const frame: NotificationFrame = { ...toNotification(record), redelivered: true };
        if (!connection.send(frame, named ? { event: sseEventName(frame) } : {})) return;
        this.noteDelivered(userId, record.seq);
        this.#count("redelivered");
      }
    };
    const redeliverSafely = () =>
      void redeliver().catch((error) =>
        this.#deps.log?.warn("notification_redelivery_failed", { error })
      );
    let fallback: ReturnType<typeof setTimeout> | undefined;
    // The "ready" frame goes out once the subscription knows where it starts (the
    // head its feed read, no read of its own): anything published after it reaches
    // this connection. Without a cursor it carries that start ("0" while the user
    // has none yet, as chat does), so a client that reconnects before its first
    // notification resumes from there too.
    const start = ({ from, head }: { from: Position; head: Position | null }) => {
      if (since && head) {
        const sameEpoch = since.epoch === "" || since.epoch === head.epoch;
        if (sameEpoch && since.offset < head.offset) replayUntil = head.offset;
      }
      const ready = {
        type: READY_FRAME,
        isolate: this.#deps.isolate ?? null,
        ...(since ? {} : { cursor: head ? formatCursor(from) : "0" }),
      };
      // A resumed stream's ready frame carries the resume point as its SSE id too: the
      // client is there already, and a signed id (routes/_stream_resume.ts) is renewed.
      const id = ready.cursor ?? (since?.epoch ? formatCursor(since) : undefined);
      connection.send(ready, { event: READY_FRAME, ...(id ? { id } : {}) });
      if (replayUntil === 0) redeliverSafely();
      else fallback = setTimeout(redeliverSafely, 5000);
    };
    try {
      await deliverTopic<UserTopicPayload>(this.#deps.broker, topic, connection, {
        since,
        onStart: start,
        toFrame: userTopicFrame,
        eventName: named ? namedEventName : controlEventName,
        onDelivered: (event) => {
          const payload = event.data;
          if (isPayload(payload) && (payload.kind === "notification" || payload.kind === "retry")) {
            seen.add(payload.notification.id);
            // Every connection of the user on this isolate gets the same event object.
            if (!this.#noted.has(event) && payload.seq) {
              this.#noted.add(event);
              this.noteDelivered(userId, payload.seq);
            }
            this.#count("delivered");
            this.#series("switchboard_deliveries_total", "kind", "notifications")?.add();
          }
          if (replayUntil !== 0 && event.offset >= replayUntil) redeliverSafely();
        },
      });
    } finally {
      clearTimeout(fallback);
    }
  }

  /** Records an ack from any connection of the user. Throws `notification_not_found`. */
  async acknowledge(userId: string, id: string): Promise<NotificationRecord> {
    const result = await this.store.acknowledge(userId, id);
    if (!result) {
      throw new NotificationError(
        "notification_not_found",
        `No notification "${id.slice(0, 128)}" for this user`,
      );
    }
    if (result.changed) this.#count("acknowledged");
    return result.record;
  }

  /**
   * Marks notifications read (or all of them) and tells every open connection
   * of the user with a `notification.read` event carrying the new unread count.
   */
  async markRead(
    userId: string,
    ids: readonly string[] | "all",
  ): Promise<{ ids: string[]; unreadCount: number }> {
    let changed: string[];
    let unreadCount: number;
    if (ids === "all") {
      changed = await this.store.markAllRead(userId);
      unreadCount = await this.store.unreadCount(userId);
    } else {
      // The unread ones are listed while the records change (no round trip of its own):
      // what stays unread is what was unread and is not among the changed.
      const [marked, unread] = await Promise.all([
        this.store.markRead(userId, [...new Set(ids)]),
        this.store.unreadIds(userId),
      ]);
      changed = marked;
      const done = new Set(marked);
      unreadCount = unread.filter((id) => !done.has(id) && !ids.includes(id)).length;
    }
    if (changed.length > 0 || ids === "all") {
      const payload: UserTopicPayload = {
        kind: "read",
        ids: changed.slice(0, 500),
        all: ids === "all",
        unreadCount,
      };
      await this.#deps.broker.publish(userTopic(userId), payload);
      this.#count("read", changed.length);
    }
    return { ids: changed, unreadCount };
  }

  /** The user's preferences. */
  preferences(userId: string): Promise<Preferences> {
    return this.store.preferences(userId);
  }

  /** Replaces the user's preferences; every muted type must be registered. */
  async setPreferences(userId: string, preferences: Preferences): Promise<Preferences> {
    const unknown = preferences.muted.filter((type) => !this.types.has(type));
    if (unknown.length > 0) {
      throw new NotificationError(
        "unknown_type",
        `Unknown notification type(s): ${unknown.slice(0, 5).join(", ")}`,
        { issues: unknown.map((type) => ({ path: "muted", message: `unknown type "${type}"` })) },
      );
    }
    const stored = await this.store.setPreferences(userId, preferences);
    this.#preferencesChannel?.postMessage(userId);
    return stored;
  }

  /** The audit log (see {@linkcode NotificationStore.log}). */
  log(options: {
    userId?: string | undefined;
    type?: string | undefined;
    status?: NotificationStatus | undefined;
    before?: string | undefined;
    limit?: number | undefined;
  }): ReturnType<NotificationStore["log"]> {
    return this.store.log(options);
  }

  /**
   * Stops retry timers and the sweep, waiting for a re-send in progress, and
   * records the deliveries still queued. Leases stay, so another isolate can take over.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#preferencesChannel?.close();
    this.#preferencesChannel = null;
    await this.#retries[Symbol.asyncDispose]();
    if (this.#deliveredTimer !== undefined) {
      clearTimeout(this.#deliveredTimer);
      await this.#flushDelivered();
    }
  }
}

// One function for every connection: the core serializes each event's frame once per isolate.
function userTopicFrame(event: TopicEvent<UserTopicPayload>, cursor: string): object | null {
  return isPayload(event.data) ? frameForPayload(event.data, cursor) : null;
}

/** SSE names with `?events=named`: every notification is named after its type. */
function namedEventName(event: TopicEvent<UserTopicPayload>): string | undefined {
  if (!isPayload(event.data)) return undefined;
  return event.data.kind === "read" ? READ_FRAME : sseEventName(event.data.notification);
}

/** SSE names by default: only control frames are named; notifications go to `onmessage`. */
function controlEventName(event: TopicEvent<UserTopicPayload>): string | undefined {
  return isPayload(event.data) && event.data.kind === "read" ? READ_FRAME : undefined;
}

/** Options of {@linkcode NotificationCenter.stream}. */
export interface StreamOptions {
  /**
   * SSE only: name each notification event after its type (`event: success`), as
   * `?events=named` asks. Default false: notifications are unnamed (`message`).
   */
  namedEvents?: boolean;
}

/** A notification as its user's topic stores it (sent, or muted). */
type StoredNotification = Extract<UserTopicPayload, { kind: "notification" | "muted" }>;

function isPayload(value: unknown): value is UserTopicPayload {
  if (typeof value !== "object" || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  if (kind === "read") return Array.isArray((value as { ids?: unknown }).ids);
  if (kind !== "notification" && kind !== "retry" && kind !== "muted") return false;
  const notification = (value as { notification?: unknown }).notification;
  return typeof notification === "object" && notification !== null &&
    typeof (notification as { id?: unknown }).id === "string" &&
    typeof (notification as { type?: unknown }).type === "string";
}
