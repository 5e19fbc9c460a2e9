/**
 * @module
 * Rate limits that hold across isolates and instances: fixed-window counters in
 * KV, incremented atomically. A rejected call gets how long to wait.
 */
import { ApiError } from "../errors/mod.ts";
import { retryWhileBusy } from "../kv/mod.ts";

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

/** Counters in Deno KV, shared by every isolate that opens the same KV. */
export class KvRateLimiter implements RateLimiter {
  #kv: Deno.Kv;
  #onReject: ((bucket: string) => void) | undefined;

  constructor(kv: Deno.Kv, options: { onReject?: (bucket: string) => void } = {}) {
    this.#kv = kv;
    this.#onReject = options.onReject;
  }

  async consume(bucket: string, key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    const now = Date.now();
    const window = Math.floor(now / rule.windowMs);
    const counterKey = ["rate_limit", bucket, key, window];
    let count: number;
    // Optimistic increment: retried on conflict; a rejected call writes nothing.
    while (true) {
      const current = await retryWhileBusy(() => this.#kv.get<number>(counterKey));
      count = (current.value ?? 0) + 1;
      if (count > rule.limit) break;
      const result = await retryWhileBusy(() =>
        this.#kv.atomic().check(current)
          .set(counterKey, count, { expireIn: rule.windowMs * 2 })
          .commit()
      );
      if (result.ok) break;
    }
    const allowed = count <= rule.limit;
    if (!allowed) this.#onReject?.(bucket);
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * rule.windowMs - now) / 1000));
    return { allowed, count, retryAfterSeconds };
  }
}

/** Counters in memory, for unit tests. */
export class MemoryRateLimiter implements RateLimiter {
  #counts = new Map<string, number>();

  consume(bucket: string, key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    const now = Date.now();
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
 * await enforceRateLimit(limiter, "join", address, { limit: 20, windowMs: 60_000 });
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
    429,
    "rate_limited",
    `Too many requests: at most ${rule.limit} per ${Math.round(rule.windowMs / 1000)} s, ` +
      `try again in ${result.retryAfterSeconds} s`,
    { headers: { "Retry-After": String(result.retryAfterSeconds) } },
  );
}
