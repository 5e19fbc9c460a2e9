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

interface Waiting {
  rule: RateLimitRule;
  resolve(result: RateLimitResult): void;
  reject(error: unknown): void;
}

/**
 * Counters in Deno KV, shared by every isolate that opens the same KV. Calls
 * for one counter that arrive while this isolate is writing it are counted
 * together in its next commit (one read and one commit for a burst), so a
 * client firing many requests at once does not make them fight over one key.
 */
export class KvRateLimiter implements RateLimiter {
  #kv: Deno.Kv;
  #onReject: ((bucket: string) => void) | undefined;
  #queues = new Map<string, Waiting[]>();

  constructor(kv: Deno.Kv, options: { onReject?: (bucket: string) => void } = {}) {
    this.#kv = kv;
    this.#onReject = options.onReject;
  }

  consume(bucket: string, key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    const id = `${bucket}\u0000${key}`;
    return new Promise((resolve, reject) => {
      const queue = this.#queues.get(id);
      if (queue) {
        queue.push({ rule, resolve, reject });
        return;
      }
      this.#queues.set(id, [{ rule, resolve, reject }]);
      void this.#drain(id, bucket, key);
    });
  }

  async #drain(id: string, bucket: string, key: string): Promise<void> {
    while (true) {
      const waiting = this.#queues.get(id)!;
      if (waiting.length === 0) {
        this.#queues.delete(id);
        return;
      }
      const batch = waiting.splice(0, waiting.length);
      try {
        const results = await this.#count(bucket, key, batch.map((item) => item.rule));
        batch.forEach((item, index) => item.resolve(results[index]!));
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
  }

  /** Counts a batch of calls of one counter in one commit: the allowed ones are stored, in order. */
  async #count(bucket: string, key: string, rules: RateLimitRule[]): Promise<RateLimitResult[]> {
    // Calls with different rules for one counter are rare: count them one rule at a time.
    const rule = rules[0]!;
    if (rules.some((other) => other.limit !== rule.limit || other.windowMs !== rule.windowMs)) {
      const results: RateLimitResult[] = [];
      for (const single of rules) results.push(...await this.#count(bucket, key, [single]));
      return results;
    }
    const now = Date.now();
    const window = Math.floor(now / rule.windowMs);
    const counterKey = ["rate_limit", bucket, key, window];
    let stored: number;
    // Optimistic increment by the allowed part of the batch: retried on conflict with
    // another isolate; calls over the limit write nothing.
    while (true) {
      const current = await retryWhileBusy(() => this.#kv.get<number>(counterKey));
      stored = current.value ?? 0;
      const allowed = Math.max(0, Math.min(rules.length, rule.limit - stored));
      if (allowed === 0) break;
      const result = await retryWhileBusy(() =>
        this.#kv.atomic().check(current)
          .set(counterKey, stored + allowed, { expireIn: rule.windowMs * 2 })
          .commit()
      );
      if (result.ok) break;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * rule.windowMs - now) / 1000));
    return rules.map((_, index) => {
      const count = stored + index + 1;
      const allowed = count <= rule.limit;
      if (!allowed) this.#onReject?.(bucket);
      return { allowed, count, retryAfterSeconds };
    });
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
