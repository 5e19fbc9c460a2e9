import { type Clock, systemClock, type TimerHandle } from "../clock/mod.ts";
import { type Periodic, runPeriodically } from "../periodic/mod.ts";
import type { NotificationRecord } from "./record.ts";
import type { NotificationStore } from "./store.ts";

/** Options of {@linkcode RetryDriver}. */
export interface RetryDriverOptions {
  store: NotificationStore;
  /** Identifies this driver in leases; unique per isolate and start. */
  owner: string;
  /** Time between re-sends (`NOTIFY_RETRY_INTERVAL_MS`). */
  intervalMs: number;
  /** Re-sends before `failed` (`NOTIFY_MAX_RETRIES`). */
  maxRetries: number;
  /** Sends re-send number `attempt` to every connection of the user (publishes on the user topic). */
  resend(record: NotificationRecord, attempt: number): Promise<void>;
  /** How often this isolate looks for retries whose driver died (default max(interval, 1 s)). */
  sweepMs?: number;
  /** The time, the re-send timers and the sweep's (default {@linkcode systemClock}). */
  clock?: Clock;
  onFailed?(record: NotificationRecord): void;
  onTakeover?(userId: string, id: string): void;
  onError?(error: unknown): void;
}

/**
 * Drives the re-sends of `requiresAck` notifications. One isolate drives each
 * notification: the one that published it holds a lease in KV and keeps a
 * timer. Before every re-send it reads the record, so an ack recorded by any
 * isolate stops it. Each step moves the lease on by one interval; when a
 * driver dies (crash, eviction, restart), its leases run out and the sweep that
 * every isolate runs claims the overdue ones (one isolate wins each claim,
 * atomically) and carries on from the stored `retryCount`. Re-send number n is
 * published with an idempotency key, so a step repeated by a new driver after
 * a crash is not sent twice.
 */
export class RetryDriver implements Disposable, AsyncDisposable {
  readonly #options: RetryDriverOptions;
  readonly #clock: Clock;
  readonly #timers = new Map<string, TimerHandle>();
  /** Steps started by a timer and not finished yet. */
  readonly #stepping = new Set<Promise<void>>();
  #sweeper: Periodic | null = null;
  #disposed = false;

  constructor(options: RetryDriverOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** This driver's name in leases. */
  get owner(): string {
    return this.#options.owner;
  }

  /** Notifications this isolate drives right now. */
  get driving(): number {
    return this.#timers.size;
  }

  /** Starts the periodic takeover sweep. */
  startSweeping(): void {
    if (this.#disposed || this.#sweeper) return;
    const every = this.#options.sweepMs ?? Math.max(this.#options.intervalMs, 1000);
    this.#sweeper = runPeriodically(() => this.sweep(), {
      intervalMs: every,
      firstDelayMs: every * Math.random(),
      onError: this.#options.onError,
      clock: this.#clock,
    });
  }

  /** Schedules the next step of a notification this isolate drives. */
  track(userId: string, id: string, dueAt: number): void {
    if (this.#disposed) return;
    const key = `${userId}\u0000${id}`;
    this.#clock.clearTimeout(this.#timers.get(key));
    this.#timers.set(
      key,
      this.#clock.setTimeout(() => {
        this.#timers.delete(key);
        const stepping = this.step(userId, id).catch((error) => this.#options.onError?.(error));
        this.#stepping.add(stepping);
        void stepping.finally(() => this.#stepping.delete(stepping));
      }, Math.max(0, dueAt - this.#clock.now())),
    );
  }

  /** One step: re-send if unacked and retries are left, else mark `failed`, else stop. */
  async step(userId: string, id: string): Promise<void> {
    const { store, owner, intervalMs, maxRetries } = this.#options;
    const record = await store.get(userId, id);
    if (
      !record || record.acknowledged || record.status === "failed" || record.status === "muted"
    ) {
      await store.clearRetry(userId, id, record);
      return;
    }
    const lease = await store.lease(userId, id);
    if (lease?.owner !== owner) return; // another isolate took over
    if (record.retryCount >= maxRetries) {
      const result = await store.markFailed(userId, id, owner);
      if (result.outcome === "recorded") this.#options.onFailed?.(result.record);
      return;
    }
    const attempt = record.retryCount + 1;
    await this.#options.resend(record, attempt);
    const now = this.#clock.now();
    const nextAt = now + intervalMs;
    const result = await store.recordRetry(userId, id, {
      owner,
      attempt,
      now,
      nextAt,
      leaseUntil: nextAt + intervalMs,
    });
    if (result.outcome === "recorded") this.track(userId, id, nextAt);
  }

  /**
   * Claims retries whose due time passed a whole interval ago and whose lease ran
   * out (their driver is gone) and drives them from here. Resolves to how many.
   */
  async sweep(now: number = this.#clock.now()): Promise<number> {
    const { store, owner, intervalMs } = this.#options;
    let claimed = 0;
    for (const due of await store.due(now - intervalMs)) {
      if (this.#disposed) break;
      if (this.#timers.has(`${due.userId}\u0000${due.id}`)) continue;
      const lease = await store.lease(due.userId, due.id);
      if (lease && lease.owner !== owner && lease.expiresAt > now) continue;
      const won = await store.claim(due.userId, due.id, {
        owner,
        expiresAt: now + 2 * intervalMs,
      }, now);
      if (!won) continue;
      claimed += 1;
      this.#options.onTakeover?.(due.userId, due.id);
      await this.step(due.userId, due.id).catch((error) => this.#options.onError?.(error));
    }
    return claimed;
  }

  /** Stops every timer (leases stay, so another isolate takes over). */
  [Symbol.dispose](): void {
    this.#disposed = true;
    this.#sweeper?.stop();
    for (const timer of this.#timers.values()) this.#clock.clearTimeout(timer);
    this.#timers.clear();
  }

  /** Stops every timer and waits for the sweep and the steps in progress. */
  async [Symbol.asyncDispose](): Promise<void> {
    this[Symbol.dispose]();
    await this.#sweeper?.[Symbol.asyncDispose]();
    await Promise.all(this.#stepping);
  }
}
