import { type Clock, systemClock } from "../clock/mod.ts";
import { type Periodic, runPeriodically } from "../periodic/mod.ts";
import type { Occupancy, OccupancyLease } from "./occupancy.ts";

interface StoredCount {
  count: number;
  expiresAt: number;
}

interface Waiter {
  max: number;
  /** Admission rounds this reservation was refused in. */
  refusals: number;
  resolve(lease: OccupancyLease | null): void;
  reject(error: unknown): void;
}

interface ChannelState {
  count: number;
  /** A write that has not started yet: it will include every change made until it starts. */
  queued: Promise<void> | null;
  /** The chain of writes, so they land in order. */
  last: Promise<void>;
  /** Reservations waiting for the next admission round. */
  waiting: Waiter[];
  admitting: boolean;
}

/** Options of {@linkcode KvOccupancy}. */
export interface KvOccupancyOptions {
  /** Names this isolate's entries. */
  isolate: string;
  /** How long an isolate's count lives without a refresh (default 30 s). */
  ttlMs?: number;
  /**
   * Called when a write in the background fails: a refresh, taking back a failed
   * reservation's count, or the goodbye on dispose. The count is written again
   * with the next change or refresh, and an entry left behind expires within the TTL.
   */
  onError?: (error: unknown) => void;
  /** Times the refreshes and the expiry (default {@linkcode systemClock}). */
  clock?: Clock;
}

function countKey(channelId: string, isolate: string): Deno.KvKey {
  return ["chat_occupancy", channelId, isolate];
}

/**
 * Occupancy in Deno KV: each isolate keeps one entry per channel with its own
 * connection count, refreshed every TTL/3 and expiring after the TTL, so the
 * connections of a process that dies stop counting within the TTL. A reserve
 * writes its increment first and then sums every isolate's entry; if the sum
 * is over the limit it takes the increment back. Admissions of one isolate run
 * in rounds, one at a time; two isolates admitting the last places at the same
 * moment can both refuse, but the limit is never exceeded.
 */
export class KvOccupancy implements Occupancy {
  #kv: Deno.Kv;
  #isolate: string;
  #ttlMs: number;
  #channels = new Map<string, ChannelState>();
  #refresh: Periodic;
  #onError: (error: unknown) => void;
  #clock: Clock;

  constructor(kv: Deno.Kv, options: KvOccupancyOptions) {
    this.#kv = kv;
    this.#isolate = options.isolate;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#onError = options.onError ?? (() => {});
    this.#clock = options.clock ?? systemClock;
    this.#refresh = runPeriodically(async () => {
      const channels = [...this.#channels.keys()];
      await Promise.all(channels.map((channelId) => this.#flush(channelId).catch(this.#onError)));
    }, { intervalMs: this.#ttlMs / 3, onError: this.#onError, clock: this.#clock });
  }

  reserve(channelId: string, max: number): Promise<OccupancyLease | null> {
    return new Promise((resolve, reject) => {
      const state = this.#state(channelId);
      state.waiting.push({ max, refusals: 0, resolve, reject });
      if (!state.admitting) void this.#admit(channelId, state);
    });
  }

  /**
   * Admission rounds, one at a time per channel on this isolate: every waiting
   * reservation is counted in one write, then one sum over all isolates decides
   * how many fit (in arrival order); the rest are taken back. A reconnect storm
   * costs a few KV operations per round instead of per connection.
   */
  async #admit(channelId: string, state: ChannelState): Promise<void> {
    state.admitting = true;
    try {
      while (state.waiting.length > 0) {
        const batch = state.waiting.splice(0);
        state.count += batch.length;
        try {
          await this.#flush(channelId);
          const others = (await this.count(channelId)) - batch.length;
          const admitted: Waiter[] = [];
          const refused: Waiter[] = [];
          for (const waiter of batch) {
            if (others + admitted.length + 1 <= waiter.max) admitted.push(waiter);
            else refused.push(waiter);
          }
          if (refused.length > 0) {
            state.count -= refused.length;
            await this.#flush(channelId);
          }
          for (const waiter of admitted) waiter.resolve(this.#lease(channelId));
          // Another isolate's round may have counted its own burst at the same moment:
          // a refused reservation gets one more round after a short random pause.
          const again = refused.filter((waiter) => waiter.refusals++ < 1);
          for (const waiter of refused) if (!again.includes(waiter)) waiter.resolve(null);
          if (again.length > 0) {
            await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
            state.waiting.unshift(...again);
          }
        } catch (error) {
          state.count -= batch.length;
          // The waiters hear the first error; a failure to take the count back is the log's.
          void this.#flush(channelId).catch(this.#onError);
          for (const waiter of batch) waiter.reject(error);
        }
      }
    } finally {
      state.admitting = false;
    }
  }

  #lease(channelId: string): OccupancyLease {
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        this.#state(channelId).count -= 1;
        await this.#flush(channelId);
      },
    };
  }

  async count(channelId: string): Promise<number> {
    const now = this.#clock.now();
    let total = 0;
    const entries = this.#kv.list<StoredCount>({ prefix: ["chat_occupancy", channelId] });
    for await (const entry of entries) {
      // expireIn is only the earliest deletion: an entry past its time no longer counts.
      if (entry.value && entry.value.expiresAt > now) total += Number(entry.value.count) || 0;
    }
    return total;
  }

  #state(channelId: string): ChannelState {
    let state = this.#channels.get(channelId);
    if (!state) {
      state = { count: 0, queued: null, last: Promise.resolve(), waiting: [], admitting: false };
      this.#channels.set(channelId, state);
    }
    return state;
  }

  #flush(channelId: string): Promise<void> {
    const state = this.#channels.get(channelId);
    if (!state) return Promise.resolve();
    if (state.queued) return state.queued;
    const queued = state.last.then(async () => {
      state.queued = null;
      const key = countKey(channelId, this.#isolate);
      if (state.count <= 0) {
        await this.#kv.delete(key);
        const idle = !state.queued && !state.admitting && state.waiting.length === 0;
        if (state.count <= 0 && idle && this.#channels.get(channelId) === state) {
          this.#channels.delete(channelId);
        }
        return;
      }
      const value: StoredCount = {
        count: state.count,
        expiresAt: this.#clock.now() + this.#ttlMs,
      };
      await this.#kv.set(key, value, { expireIn: this.#ttlMs });
    });
    state.queued = queued;
    // Only orders the next write: whoever awaits `queued` gets its error.
    state.last = queued.catch(() => {});
    return queued;
  }

  /**
   * Stops the refresh and waits for the writes in progress, then deletes this
   * isolate's counts: its connections are gone.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#refresh[Symbol.asyncDispose]();
    const states = [...this.#channels.entries()];
    this.#channels.clear();
    for (const [channelId, state] of states) {
      await state.last;
      await this.#kv.delete(countKey(channelId, this.#isolate)).catch(this.#onError);
    }
  }
}
