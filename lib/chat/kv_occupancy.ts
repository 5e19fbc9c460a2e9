import { retryWhileBusy } from "../kv/mod.ts";
import type { Occupancy, OccupancyLease } from "./occupancy.ts";

interface StoredCount {
  count: number;
  expiresAt: number;
}

interface ChannelState {
  count: number;
  /** A write that has not started yet: it will include every change made until it starts. */
  queued: Promise<void> | null;
  /** The chain of writes, so they land in order. */
  last: Promise<void>;
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
 * one at a time; two isolates admitting the last place at the same moment can
 * both refuse, but the limit is never exceeded.
 */
export class KvOccupancy implements Occupancy {
  #kv: Deno.Kv;
  #isolate: string;
  #ttlMs: number;
  #channels = new Map<string, ChannelState>();
  #admissions = new Map<string, Promise<void>>();
  #refresh: ReturnType<typeof setInterval>;

  constructor(kv: Deno.Kv, options: { isolate: string; ttlMs?: number }) {
    this.#kv = kv;
    this.#isolate = options.isolate;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#refresh = setInterval(() => {
      for (const channelId of this.#channels.keys()) void this.#flush(channelId).catch(() => {});
    }, this.#ttlMs / 3);
    Deno.unrefTimer(Number(this.#refresh));
  }

  reserve(channelId: string, max: number): Promise<OccupancyLease | null> {
    // One admission at a time per channel on this isolate: a burst is admitted in
    // order up to the limit instead of every attempt seeing the whole burst counted.
    const previous = this.#admissions.get(channelId) ?? Promise.resolve();
    const attempt = previous.then(() => this.#admit(channelId, max));
    const settled = attempt.then(() => {}, () => {});
    this.#admissions.set(channelId, settled);
    void settled.then(() => {
      if (this.#admissions.get(channelId) === settled) this.#admissions.delete(channelId);
    });
    return attempt;
  }

  async #admit(channelId: string, max: number): Promise<OccupancyLease | null> {
    this.#adjust(channelId, 1);
    try {
      await this.#flush(channelId);
      if (await this.count(channelId) > max) {
        this.#adjust(channelId, -1);
        await this.#flush(channelId);
        return null;
      }
    } catch (error) {
      this.#adjust(channelId, -1);
      void this.#flush(channelId).catch(() => {});
      throw error;
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        this.#adjust(channelId, -1);
        await this.#flush(channelId);
      },
    };
  }

  async count(channelId: string): Promise<number> {
    const now = Date.now();
    let total = 0;
    const entries = this.#kv.list<StoredCount>({ prefix: ["chat_occupancy", channelId] });
    for await (const entry of entries) {
      // expireIn is only the earliest deletion: an entry past its time no longer counts.
      if (entry.value && entry.value.expiresAt > now) total += Number(entry.value.count) || 0;
    }
    return total;
  }

  #adjust(channelId: string, delta: number): void {
    let state = this.#channels.get(channelId);
    if (!state) {
      state = { count: 0, queued: null, last: Promise.resolve() };
      this.#channels.set(channelId, state);
    }
    state.count += delta;
  }

  #flush(channelId: string): Promise<void> {
    const state = this.#channels.get(channelId);
    if (!state) return Promise.resolve();
    if (state.queued) return state.queued;
    const queued = state.last.then(async () => {
      state.queued = null;
      const key = countKey(channelId, this.#isolate);
      if (state.count <= 0) {
        await retryWhileBusy(() => this.#kv.delete(key));
        if (state.count <= 0 && !state.queued && this.#channels.get(channelId) === state) {
          this.#channels.delete(channelId);
        }
        return;
      }
      const value: StoredCount = { count: state.count, expiresAt: Date.now() + this.#ttlMs };
      await retryWhileBusy(() => this.#kv.set(key, value, { expireIn: this.#ttlMs }));
    });
    state.queued = queued;
    state.last = queued.catch(() => {});
    return queued;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    clearInterval(this.#refresh);
    const channels = [...this.#channels.keys()];
    this.#channels.clear();
    for (const channelId of channels) {
      await this.#kv.delete(countKey(channelId, this.#isolate)).catch(() => {});
    }
  }
}
