import { z } from "zod";
import { newId } from "../ids/mod.ts";
import { NotificationStore } from "../notifications/store.ts";
import { type Clock, systemClock, type TimerHandle } from "../clock/mod.ts";
import { type Periodic, reportLoopFailures, runPeriodically } from "../periodic/mod.ts";
import { encodeBase64Url } from "../text/mod.ts";
import { pushEndpointProblem } from "./endpoints.ts";
import { PushError } from "./errors.ts";
import { pushPayloadFor } from "./payload.ts";
import { type PushAttemptResult, type PushFetch, PushSender } from "./sender.ts";
import {
  checkSubscriptionKeys,
  type PushDevice,
  type PushDeviceView,
  type PushPreferencesView,
  type PushSettings,
  type PushSubscriptionInput,
  PushSubscriptionStore,
  type PushUserState,
  type PushWhen,
  toDeviceView,
} from "./subscriptions.ts";
import { ensureVapidKeys, type VapidKeys } from "./vapid.ts";

/** What push needs of a notification just published (a `NotificationRecord` has it). */
export interface PublishedNotification {
  userId: string;
  id: string;
  type: string;
}

/** The settings push reads (names as in the environment). */
export interface PushSettingsConfig {
  /** Seconds a notification may go undelivered (or unacked) before it is pushed. */
  PUSH_DELAY_SECONDS: number;
  /** Push endpoint hosts allowed besides the known push services. */
  PUSH_ENDPOINT_HOSTS: readonly string[];
}

/** What {@linkcode PushService} needs (the job core has all of it). */
export interface PushServiceDeps {
  kv: Deno.Kv;
  config: PushSettingsConfig;
  log?: { warn(event: string, fields?: Record<string, unknown>): void };
  metrics?: { increment(name: string, labels?: Record<string, string>, amount?: number): void };
}

/** Options of {@linkcode PushService}. */
export interface PushServiceOptions {
  /** The fetch push requests go through (default `globalThis.fetch`). */
  fetch?: PushFetch;
  /** First wait before re-trying a 429/5xx (default 1000 ms; doubles per attempt, ±20 %). */
  retryBaseMs?: number;
  /** Attempts per device and notification, the first included (default 4). */
  maxAttempts?: number;
  /** How often each isolate looks for pushes whose timer died with its isolate (default 30 s). */
  sweepMs?: number;
  /** Run that sweep (default true). */
  sweep?: boolean;
  /** How long a user's push state read for scheduling is reused (default 5 s). */
  stateCacheMs?: number;
  /** The delay and back-off timers and the audit log's times (default {@linkcode systemClock}). */
  clock?: Clock;
  /** A 0..1 random number for the back-off's ±20 % jitter (default `Math.random`). */
  random?: () => number;
}

/** One push request, as the audit log keeps it. */
export interface PushAttempt {
  /** The attempt's own id (a ULID: newest last). */
  id: string;
  notificationId: string;
  userId: string;
  /** The device (subscription) id, as listed in the user's preferences. */
  subscriptionId: string;
  /** The push service's origin (never the endpoint: it is a capability). */
  service: string;
  /** 1 for the first request of this notification to this device. */
  attempt: number;
  at: string;
  outcome: PushAttemptResult["outcome"];
  status: number | null;
  error: string | null;
  /** Why it was pushed: `away` (nobody got it in time) or `always` (the user's setting). */
  reason: "away" | "always";
}

/** One push request of `GET /api/notifications/push-log` (the audit log's schema). */
export const pushAttemptSchema = z.object({
  id: z.string(),
  notificationId: z.string(),
  userId: z.string(),
  subscriptionId: z.string(),
  service: z.string(),
  attempt: z.number(),
  at: z.string(),
  outcome: z.enum(["sent", "gone", "retry", "rejected"]),
  status: z.number().nullable(),
  error: z.string().nullable(),
  reason: z.enum(["away", "always"]),
});

/** How long push attempts stay in the audit log (as long as the notifications). */
const ATTEMPT_RETENTION_MS = 30 * 86_400_000;
/** A due push still there this long after its time lost its timer (its isolate stopped). */
const SWEEP_GRACE_MS = 5000;

function dueKey(at: number, userId: string, id: string): Deno.KvKey {
  return ["push", "due", at, userId, id];
}

function attemptKey(userId: string, attemptId: string): Deno.KvKey {
  return ["push", "attempt", userId, attemptId];
}

/** A Topic header value (RFC 8030 §5.4): a repeated push of one notification replaces the first. */
async function topicFor(notificationId: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(notificationId));
  return encodeBase64Url(new Uint8Array(digest).slice(0, 24));
}

/**
 * Web Push for notifications. The notification center tells it what each
 * publish sent ({@linkcode published}, after the commit: nothing is added to
 * the publish → deliver path); off that path it reads the recipients' push
 * state (one eventually consistent read per ten users, reused for 5 s) and, for
 * users with subscribed devices:
 *
 * - `always`: pushes at once;
 * - `away` (the default): writes a due entry and sets a timer for
 *   `PUSH_DELAY_SECONDS`; then, if no connection received the notification
 *   (for `requiresAck`: nobody acked it) and it is unread, pushes it. The entry
 *   is claimed with an atomic delete, so one isolate pushes it; another
 *   isolate's sweep claims entries whose isolate stopped before their time.
 *
 * Each device gets the message through {@linkcode PushSender}: a 404/410 deletes
 * the subscription, a 429/5xx is re-tried with backoff (honouring
 * `Retry-After`), and every request is written to the audit log.
 */
export class PushService implements AsyncDisposable {
  /** The VAPID public key browsers subscribe with. */
  readonly publicKey: string;
  readonly subscriptions: PushSubscriptionStore;
  readonly #deps: PushServiceDeps;
  readonly #records: NotificationStore;
  readonly #sender: PushSender;
  readonly #delayMs: number;
  readonly #retryBaseMs: number;
  readonly #maxAttempts: number;
  readonly #stateCacheMs: number;
  readonly #states = new Map<string, { state: PushUserState | null; until: number }>();
  readonly #queue: PublishedNotification[] = [];
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #timers = new Set<TimerHandle>();
  readonly #stop = new AbortController();
  readonly #work = new Set<Promise<unknown>>();
  #flushing: ReturnType<typeof setTimeout> | undefined;
  #sweep: Periodic | null = null;

  constructor(deps: PushServiceDeps, vapid: VapidKeys, options: PushServiceOptions = {}) {
    this.#deps = deps;
    this.publicKey = vapid.publicKey;
    this.subscriptions = new PushSubscriptionStore(deps.kv);
    this.#records = new NotificationStore(deps.kv);
    this.#sender = new PushSender({
      vapid,
      extraHosts: deps.config.PUSH_ENDPOINT_HOSTS,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.#delayMs = deps.config.PUSH_DELAY_SECONDS * 1000;
    this.#retryBaseMs = options.retryBaseMs ?? 1000;
    this.#maxAttempts = options.maxAttempts ?? 4;
    this.#stateCacheMs = options.stateCacheMs ?? 5000;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    if (options.sweep ?? true) {
      const { log, metrics } = deps;
      this.#sweep = runPeriodically(() => this.#sweepDue(), {
        intervalMs: options.sweepMs ?? 30_000,
        signal: this.#stop.signal,
        clock: this.#clock,
        ...(log && metrics ? { onError: reportLoopFailures({ log, metrics }, "push_sweep") } : {}),
      });
    }
  }

  #count(outcome: string): void {
    this.#deps.metrics?.increment("switchboard_push_total", { outcome });
  }

  /** Runs `task` in the background, tracked so disposal can wait for it. */
  #background(task: () => Promise<unknown>): void {
    if (this.#stop.signal.aborted) return;
    const running = task().catch((error) => this.#deps.log?.warn("push_failed", { error }))
      .finally(() => this.#work.delete(running));
    this.#work.add(running);
  }

  #after(ms: number, task: () => Promise<unknown>): void {
    if (this.#stop.signal.aborted) return;
    const timer = this.#clock.setTimeout(
      () => {
        this.#timers.delete(timer);
        this.#background(task);
      },
      Math.max(0, ms),
      { unref: true },
    );
    this.#timers.add(timer);
  }

  /**
   * The center's hook: notifications a publish just sent. Returns at once;
   * everything it leads to happens on a later turn of the event loop.
   */
  published(notifications: readonly PublishedNotification[]): void {
    if (this.#stop.signal.aborted || notifications.length === 0) return;
    for (const notification of notifications) {
      this.#queue.push({
        userId: notification.userId,
        id: notification.id,
        type: notification.type,
      });
    }
    if (this.#flushing !== undefined) return;
    // A real 0 ms timer, not the clock's: it only moves the work past the publish, and
    // batches the publishes of one turn.
    this.#flushing = setTimeout(() => {
      this.#flushing = undefined;
      this.#background(() => this.#schedule(this.#queue.splice(0)));
    }, 0);
  }

  async #statesOf(userIds: string[]): Promise<Map<string, PushUserState>> {
    const now = this.#clock.now();
    const found = new Map<string, PushUserState>();
    const missing: string[] = [];
    for (const userId of userIds) {
      const cached = this.#states.get(userId);
      if (cached && cached.until > now) {
        if (cached.state) found.set(userId, cached.state);
      } else missing.push(userId);
    }
    if (missing.length > 0) {
      const read = await this.subscriptions.getMany(missing);
      for (const userId of missing) {
        const state = read.get(userId) ?? null;
        this.#states.delete(userId);
        this.#states.set(userId, { state, until: now + this.#stateCacheMs });
        if (state) found.set(userId, state);
      }
      while (this.#states.size > 50_000) this.#states.delete(this.#states.keys().next().value!);
    }
    return found;
  }

  async #schedule(batch: PublishedNotification[]): Promise<void> {
    const states = await this.#statesOf([...new Set(batch.map((item) => item.userId))]);
    const due: { userId: string; id: string }[] = [];
    for (const item of batch) {
      const state = states.get(item.userId);
      if (!state || state.devices.length === 0) continue;
      const when: PushWhen = state.settings.types[item.type] ?? state.settings.when;
      if (when === "never") continue;
      if (when === "always" || this.#delayMs === 0) {
        this.#background(() => this.#deliver(item.userId, item.id, when));
      } else due.push(item);
    }
    const at = this.#clock.now() + this.#delayMs;
    for (let start = 0; start < due.length; start += 100) {
      const chunk = due.slice(start, start + 100);
      const operation = this.#deps.kv.atomic();
      for (const item of chunk) {
        operation.set(dueKey(at, item.userId, item.id), true, {
          expireIn: this.#delayMs + 86_400_000,
        });
      }
      const result = await operation.commit();
      if (!result.ok) continue;
      for (const item of chunk) {
        const key = dueKey(at, item.userId, item.id);
        this.#after(at - this.#clock.now(), () => this.#claim(key, result.versionstamp));
      }
    }
  }

  /** Takes a due entry (one isolate wins) and pushes its notification if it is still unseen. */
  async #claim(key: Deno.KvKey, versionstamp: string): Promise<void> {
    const [, , , userId, id] = key;
    if (typeof userId !== "string" || typeof id !== "string") return;
    const result = await this.#deps.kv.atomic().check({ key, versionstamp }).delete(key).commit();
    if (result.ok) await this.#deliver(userId, id, "away");
  }

  async #sweepDue(): Promise<void> {
    const until = this.#clock.now() - SWEEP_GRACE_MS;
    const iterator = this.#deps.kv.list({ prefix: ["push", "due"], end: ["push", "due", until] }, {
      limit: 100,
    });
    for await (const entry of iterator) {
      if (this.#stop.signal.aborted) return;
      await this.#claim(entry.key, entry.versionstamp);
    }
  }

  /** Pushes one notification to every device of its user, unless someone saw it already. */
  async #deliver(userId: string, id: string, reason: "away" | "always"): Promise<void> {
    const [record, state] = await Promise.all([
      this.#records.get(userId, id),
      this.subscriptions.get(userId),
    ]);
    if (!record || record.status === "muted" || record.read || record.acknowledged) {
      this.#count("skipped");
      return;
    }
    // "Away": a connection got it in time, and nothing waits for an ack.
    if (reason === "away" && !record.requiresAck && record.deliveredAt !== null) {
      this.#count("skipped");
      return;
    }
    const payload = pushPayloadFor(record);
    const topic = await topicFor(record.id);
    const urgency = record.requiresAck || record.type === "error" ? "high" : "normal";
    await Promise.all(state.devices.map(async (device) => {
      for (let attempt = 1;; attempt++) {
        const result = await this.#sender.send(device, payload, { topic, urgency });
        await this.#audit(record.id, userId, device, attempt, result, reason);
        this.#count(result.outcome);
        if (result.outcome === "gone") {
          await this.subscriptions.remove(userId, { id: device.id });
          this.#states.delete(userId);
          return;
        }
        if (result.outcome !== "retry" || attempt >= this.#maxAttempts) return;
        const backoff = this.#retryBaseMs * 2 ** (attempt - 1) * (0.8 + this.#random() * 0.4);
        const wait = Math.min(Math.max(result.retryAfterMs ?? 0, backoff), 60_000);
        if (!await this.#sleep(wait)) return;
      }
    }));
  }

  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.#stop.signal.aborted) return resolve(false);
      const timer = this.#clock.setTimeout(
        () => {
          this.#timers.delete(timer);
          resolve(true);
        },
        ms,
        { unref: true },
      );
      this.#timers.add(timer);
      this.#stop.signal.addEventListener("abort", () => resolve(false), { once: true });
    });
  }

  async #audit(
    notificationId: string,
    userId: string,
    device: PushDevice,
    attempt: number,
    result: PushAttemptResult,
    reason: "away" | "always",
  ): Promise<void> {
    const entry: PushAttempt = {
      id: newId(),
      notificationId,
      userId,
      subscriptionId: device.id,
      service: toDeviceView(device).service,
      attempt,
      at: new Date(this.#clock.now()).toISOString(),
      outcome: result.outcome,
      status: result.status,
      error: result.error ?? null,
      reason,
    };
    await this.#deps.kv.set(attemptKey(userId, entry.id), entry, { expireIn: ATTEMPT_RETENTION_MS })
      .catch((error) => this.#deps.log?.warn("push_audit_failed", { error }));
  }

  /**
   * Push attempts of a user, newest first, optionally of one notification
   * (scans at most 5000 attempts).
   */
  async attempts(
    userId: string,
    options: { notificationId?: string | undefined; limit?: number | undefined } = {},
  ): Promise<PushAttempt[]> {
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
    const found: PushAttempt[] = [];
    let scanned = 0;
    const iterator = this.#deps.kv.list({ prefix: ["push", "attempt", userId] }, {
      reverse: true,
      batchSize: 200,
    });
    for await (const entry of iterator) {
      if (++scanned > 5000) break;
      const parsed = pushAttemptSchema.safeParse(entry.value);
      if (!parsed.success) continue;
      if (options.notificationId && parsed.data.notificationId !== options.notificationId) continue;
      found.push(parsed.data);
      if (found.length >= limit) break;
    }
    return found;
  }

  /**
   * Stores a browser's subscription for the user (a known endpoint is
   * refreshed). Throws {@linkcode PushError}: `push_endpoint_not_allowed`,
   * `invalid_push_subscription`.
   */
  async subscribe(
    userId: string,
    input: PushSubscriptionInput,
  ): Promise<{ subscription: PushDeviceView; created: boolean }> {
    const problem = pushEndpointProblem(input.endpoint, this.#deps.config.PUSH_ENDPOINT_HOSTS);
    if (problem) {
      throw new PushError("push_endpoint_not_allowed", `Cannot subscribe: ${problem}`);
    }
    await checkSubscriptionKeys(input.keys);
    const { device, created } = await this.subscriptions.add(userId, input);
    this.#states.delete(userId);
    return { subscription: toDeviceView(device), created };
  }

  /** Removes a device by `endpoint` or `id`; throws `push_subscription_not_found`. */
  async unsubscribe(userId: string, which: { endpoint?: string; id?: string }): Promise<void> {
    const removed = await this.subscriptions.remove(userId, which);
    this.#states.delete(userId);
    if (!removed) {
      throw new PushError(
        "push_subscription_not_found",
        "No such push subscription for this user",
      );
    }
  }

  /** The `push` part of the user's preferences. */
  async preferences(userId: string): Promise<PushPreferencesView> {
    const state = await this.subscriptions.get(userId);
    return { ...state.settings, subscriptions: state.devices.map(toDeviceView) };
  }

  /** Replaces the user's push settings (`when`, per-type overrides). */
  async setPreferences(userId: string, settings: PushSettings): Promise<PushPreferencesView> {
    const state = await this.subscriptions.setSettings(userId, settings);
    this.#states.delete(userId);
    return { ...state.settings, subscriptions: state.devices.map(toDeviceView) };
  }

  #close(): void {
    this.#stop.abort();
    this.#sweep?.stop();
    clearTimeout(this.#flushing);
    for (const timer of this.#timers) this.#clock.clearTimeout(timer);
    this.#timers.clear();
  }

  /** Stops timers and the sweep, and waits for pushes in flight. Due entries stay for a sweep. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#close();
    await Promise.allSettled([...this.#work]);
  }
}

/** The settings {@linkcode startPushService} reads (names as in the environment). */
export interface PushJobSettings extends PushSettingsConfig {
  VAPID_PUBLIC_KEY?: string | undefined;
  VAPID_PRIVATE_KEY?: string | undefined;
  VAPID_SUBJECT?: string | undefined;
  PUBLIC_URL?: string | undefined;
}

/**
 * The Web Push job of one isolate: the VAPID keys in force (from the settings,
 * or kept in KV) and a {@linkcode PushService} on the core's KV, log and
 * metrics. Throws `VapidKeyError` when the configured keys are not one pair.
 *
 * @example
 * ```ts
 * const kv = await Deno.openKv(":memory:");
 * await using push = await startPushService({ kv }, {
 *   PUSH_DELAY_SECONDS: 10,
 *   PUSH_ENDPOINT_HOSTS: [],
 * });
 * push.publicKey.length; // 87
 * ```
 */
export async function startPushService(
  core: Omit<PushServiceDeps, "config">,
  settings: PushJobSettings,
  options: PushServiceOptions = {},
): Promise<PushService> {
  const vapid = await ensureVapidKeys(core.kv, {
    publicKey: settings.VAPID_PUBLIC_KEY,
    privateKey: settings.VAPID_PRIVATE_KEY,
    subject: settings.VAPID_SUBJECT,
    publicUrl: settings.PUBLIC_URL,
  });
  return new PushService(
    {
      kv: core.kv,
      ...(core.log ? { log: core.log } : {}),
      ...(core.metrics ? { metrics: core.metrics } : {}),
      config: {
        PUSH_DELAY_SECONDS: settings.PUSH_DELAY_SECONDS,
        PUSH_ENDPOINT_HOSTS: settings.PUSH_ENDPOINT_HOSTS,
      },
    },
    vapid,
    options,
  );
}
