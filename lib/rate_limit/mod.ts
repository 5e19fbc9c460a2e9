/**
 * @module
 * Rate limits that hold across isolates and instances: fixed-window counters in
 * KV, incremented atomically. A rejected call gets how long to wait.
 */
import { ApiError } from "../errors/mod.ts";

/** One limit: at most `limit` calls per `windowMs`. */
export interface RateLimitRule {
  limit: number;
  windowMs: number;
}

/** The outcome of one call. */
export interface RateLimitResult {
  allowed: boolean;
  /** Calls counted in the current window, this one included. */
  count: number;
  /** Seconds until the window resets (for `Retry-After`). */
  retryAfterSeconds: number;
}

/** Counts calls per bucket and key. */
export interface RateLimiter {
  /** Counts one call of `key` in `bucket` and says whether it is allowed. */
  consume(bucket: string, key: string, rule: RateLimitRule): Promise<RateLimitResult>;
}

/** One counter of one window, as this isolate knows it. */
interface Counter {
  key: Deno.KvKey;
  windowMs: number;
  /** The window's number (time / windowMs). */
  window: number;
  /** The count stored in KV when this isolate last read or wrote it. */
  stored: number;
  /** The entry last read or written (what the next write checks), or null before any. */
  entry: Deno.KvEntryMaybe<number> | null;
  /** Calls admitted here and not yet written. */
  local: number;
  /** Calls refused here (reported in `count`, never stored). */
  refused: number;
}

/** Options of {@linkcode KvRateLimiter}. */
export interface KvRateLimiterOptions {
  /** Called for every refused call (metrics). */
  onReject?: (bucket: string) => void;
  /** Called when writing counters to KV failed (they are written again with the next call). */
  onError?: (error: unknown) => void;
  /** The clock (ms since the epoch); default `Date.now`. */
  now?: () => number;
}

/** Counters this isolate keeps at most (the oldest windows are forgotten first). */
const MAX_COUNTERS = 50_000;

/**
 * Counters in Deno KV, shared by every isolate that opens the same KV, and
 * never a KV round trip on the caller's path: a call is decided at once from
 * what this isolate knows (the count KV had when it last wrote the counter,
 * plus the calls it admitted since), and the admitted calls are written in the
 * background, many counters per commit, checked against the last versionstamp
 * (a conflict reads the counter and adds again). Within one isolate the limit
 * is exact; across isolates and instances a burst can pass it by what the
 * others admitted during one KV round trip, which is the price of not making
 * every request wait for the database (7–194 ms on Deno Deploy).
 */
export class KvRateLimiter implements RateLimiter, AsyncDisposable {
  #kv: Deno.Kv;
  #onReject: KvRateLimiterOptions["onReject"];
  #onError: KvRateLimiterOptions["onError"];
  #now: () => number;
  #counters = new Map<string, Counter>();
  #dirty = new Set<Counter>();
  #writing: Promise<void> | null = null;

  constructor(kv: Deno.Kv, options: KvRateLimiterOptions = {}) {
    this.#kv = kv;
    this.#onReject = options.onReject;
    this.#onError = options.onError;
    this.#now = options.now ?? Date.now;
  }

  consume(bucket: string, key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    const now = this.#now();
    const window = Math.floor(now / rule.windowMs);
    const id = `${bucket}\u0000${key}\u0000${rule.windowMs}\u0000${window}`;
    let counter = this.#counters.get(id);
    if (!counter) {
      counter = {
        key: ["rate_limit", bucket, key, rule.windowMs, window],
        windowMs: rule.windowMs,
        window,
        stored: 0,
        entry: null,
        local: 0,
        refused: 0,
      };
      this.#counters.set(id, counter);
      if (this.#counters.size > MAX_COUNTERS) this.#forget(now);
    }
    const allowed = counter.stored + counter.local + 1 <= rule.limit;
    const count = counter.stored + counter.local + counter.refused + 1;
    if (allowed) {
      counter.local += 1;
      this.#dirty.add(counter);
      this.#writing ??= Promise.resolve().then(() => this.#write());
    } else {
      counter.refused += 1;
      this.#onReject?.(bucket);
    }
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * rule.windowMs - now) / 1000));
    return Promise.resolve({ allowed, count, retryAfterSeconds });
  }

  /** Resolves once every call admitted so far is written to KV. */
  async flushed(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Forgets counters of past windows, then the oldest ones (bounded memory under many keys). */
  #forget(now: number): void {
    for (const [id, counter] of this.#counters) {
      if (Math.floor(now / counter.windowMs) > counter.window && counter.local === 0) {
        this.#counters.delete(id);
      }
    }
    for (const [id, counter] of this.#counters) {
      if (this.#counters.size <= MAX_COUNTERS * 0.9) break;
      if (counter.local === 0) this.#counters.delete(id);
    }
  }

  /** Writes the admitted calls, ten counters per commit, until none is left. */
  async #write(): Promise<void> {
    try {
      while (this.#dirty.size > 0) {
        const counters = [...this.#dirty];
        this.#dirty.clear();
        const groups: Counter[][] = [];
        for (let start = 0; start < counters.length; start += 10) {
          groups.push(counters.slice(start, start + 10));
        }
        await Promise.all(groups.map((group) => this.#writeGroup(group)));
      }
    } finally {
      this.#writing = null;
    }
  }

  async #writeGroup(group: Counter[]): Promise<void> {
    try {
      for (let attempt = 0; attempt < 20; attempt++) {
        const unknown = group.filter((counter) => counter.entry === null);
        if (unknown.length > 0) {
          const entries = await this.#kv.getMany<number[]>(unknown.map((counter) => counter.key));
          unknown.forEach((counter, index) => this.#learn(counter, entries[index]!));
        }
        const adding = group.map((counter) => counter.local);
        const operation = this.#kv.atomic();
        group.forEach((counter, index) => {
          operation.check(counter.entry!).set(counter.key, counter.stored + adding[index]!, {
            expireIn: counter.windowMs * 2,
          });
        });
        const result = await operation.commit();
        if (result.ok) {
          group.forEach((counter, index) => {
            counter.stored += adding[index]!;
            counter.local -= adding[index]!;
            counter.entry = {
              key: counter.key,
              value: counter.stored,
              versionstamp: result.versionstamp,
            };
          });
          return;
        }
        // Another isolate counted too: read what it stored and add ours to that.
        for (const counter of group) counter.entry = null;
      }
      throw new Error("Cannot write rate-limit counters: too many concurrent writers");
    } catch (error) {
      // Written again with the next admitted call of these counters.
      for (const counter of group) if (counter.local > 0) counter.entry = null;
      this.#onError?.(error);
    }
  }

  #learn(counter: Counter, entry: Deno.KvEntryMaybe<number>): void {
    counter.entry = entry;
    counter.stored = typeof entry.value === "number" ? entry.value : 0;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.flushed();
  }
}

/** Options of {@linkcode MemoryRateLimiter}. */
export interface MemoryRateLimiterOptions {
  /** The clock (ms since the epoch); default `Date.now`. */
  now?: () => number;
}

/** Counters in memory, for unit tests. */
export class MemoryRateLimiter implements RateLimiter {
  #counts = new Map<string, number>();
  #now: () => number;

  constructor(options: MemoryRateLimiterOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  consume(bucket: string, key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    const now = this.#now();
    const window = Math.floor(now / rule.windowMs);
    const counterKey = `${bucket}\u0000${key}\u0000${window}`;
    const count = (this.#counts.get(counterKey) ?? 0) + 1;
    this.#counts.set(counterKey, count);
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * rule.windowMs - now) / 1000));
    return Promise.resolve({ allowed: count <= rule.limit, count, retryAfterSeconds });
  }
}

/**
 * Counts one call and throws 429 `rate_limited` with `Retry-After` when it is over the limit.
 *
 * @example
 * ```ts
 * const limiter = new KvRateLimiter(await Deno.openKv(":memory:"));
 * await enforceRateLimit(limiter, "join", "203.0.113.7", { limit: 20, windowMs: 60_000 });
 * ```
 */
export async function enforceRateLimit(
  limiter: RateLimiter,
  bucket: string,
  key: string,
  rule: RateLimitRule,
): Promise<void> {
  const result = await limiter.consume(bucket, key, rule);
  if (result.allowed) return;
  throw new ApiError(
    "rate_limited",
    `Too many requests: at most ${rule.limit} per ${Math.round(rule.windowMs / 1000)} s, ` +
      `try again in ${result.retryAfterSeconds} s`,
    { headers: { "Retry-After": String(result.retryAfterSeconds) } },
  );
}
