/**
 * @module
 * A global storage budget per kind of data anyone can write (signaling,
 * link-mode uploads, chat messages): the bytes written within the data's
 * retention window, over every isolate and instance. Past the budget, writes of
 * that kind are refused (507 `storage_full`) instead of KV growing without bound.
 *
 * No KV round trip on the writer's path: each isolate counts its own bytes at
 * once and, every couple of seconds, writes its per-hour (or per-day) totals to
 * its own keys (nobody else writes them: no conflicts) and reads everyone's.
 * So the budget holds exactly within an isolate and, across isolates, within
 * what the others wrote since the last read.
 */
import { type Periodic, runPeriodically } from "../periodic/mod.ts";

/** The kinds of data under a budget. */
export type StorageKind = "signaling" | "uploads" | "chat";

/** One kind's budget: at most `bytes` written within `windowMs`, counted in `bucketMs` steps. */
export interface KindBudget {
  bytes: number;
  windowMs: number;
  bucketMs: number;
}

/** Options of {@linkcode StorageBudget}. */
export interface StorageBudgetOptions {
  /** Names this isolate's counters. */
  isolate: string;
  budgets: Record<StorageKind, KindBudget>;
  /** Time between syncs with KV (default 2 s; 0: only when `sync()` is called). */
  syncMs?: number;
  /** The clock (ms since the epoch); default `Date.now`. */
  now?: () => number;
  onError?: (error: unknown) => void;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** Default windows: signaling and uploads live at most a day, chat 30 days. */
export const STORAGE_WINDOWS: Record<StorageKind, { windowMs: number; bucketMs: number }> = {
  signaling: { windowMs: DAY, bucketMs: HOUR },
  uploads: { windowMs: DAY, bucketMs: HOUR },
  chat: { windowMs: 30 * DAY, bucketMs: DAY },
};

function counterKey(kind: StorageKind, bucket: number, isolate: string): Deno.KvKey {
  return ["storage_budget", kind, bucket, isolate];
}

/** What a writer needs of a budget: ask before writing, count after. */
export interface StorageGate {
  /** True when `bytes` more of `kind` still fit in its budget. */
  allows(kind: StorageKind, bytes: number): boolean;
  /** Counts `bytes` of `kind` just written. */
  add(kind: StorageKind, bytes: number): void;
}

/** The message of a `storage_full` refusal. */
export function storageFullMessage(kind: StorageKind): string {
  return `The server's storage for ${kind} is full; try again later`;
}

/** Bytes written per kind and bucket, as this isolate knows them. */
export class StorageBudget implements StorageGate, AsyncDisposable {
  #kv: Deno.Kv;
  #options: StorageBudgetOptions;
  #now: () => number;
  /** This isolate's bytes per kind and bucket (what it writes to KV). */
  #own = new Map<StorageKind, Map<number, number>>();
  /** Everyone else's bytes per kind, within the window, at the last sync. */
  #others = new Map<StorageKind, number>();
  #syncing: Promise<void> | null = null;
  #periodic: Periodic | null = null;

  constructor(kv: Deno.Kv, options: StorageBudgetOptions) {
    this.#kv = kv;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const syncMs = options.syncMs ?? 2000;
    if (syncMs > 0) {
      this.#periodic = runPeriodically(() => this.sync(), {
        intervalMs: syncMs,
        firstDelayMs: 0,
        onError: options.onError,
      });
    }
  }

  /** The bytes of `kind` written within its window, as this isolate knows them. */
  used(kind: StorageKind): number {
    return this.#ownWithin(kind) + (this.#others.get(kind) ?? 0);
  }

  /** True when `bytes` more of `kind` still fit in its budget. */
  allows(kind: StorageKind, bytes: number): boolean {
    return this.used(kind) + bytes <= this.#options.budgets[kind].bytes;
  }

  /** Counts `bytes` of `kind` just written. */
  add(kind: StorageKind, bytes: number): void {
    const bucket = Math.floor(this.#now() / this.#options.budgets[kind].bucketMs);
    let buckets = this.#own.get(kind);
    if (!buckets) this.#own.set(kind, buckets = new Map());
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + bytes);
  }

  #ownWithin(kind: StorageKind): number {
    const { windowMs, bucketMs } = this.#options.budgets[kind];
    const oldest = Math.floor((this.#now() - windowMs) / bucketMs);
    let total = 0;
    for (const [bucket, bytes] of this.#own.get(kind) ?? []) {
      if (bucket > oldest) total += bytes;
    }
    return total;
  }

  /** Writes this isolate's counters and reads everyone else's (one at a time). */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => this.#syncing = null);
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    const now = this.#now();
    const isolate = this.#options.isolate;
    const operation = this.#kv.atomic();
    let writes = 0;
    for (const [kind, buckets] of this.#own) {
      const { windowMs, bucketMs } = this.#options.budgets[kind];
      const oldest = Math.floor((now - windowMs) / bucketMs);
      for (const [bucket, bytes] of buckets) {
        if (bucket <= oldest) {
          buckets.delete(bucket);
          continue;
        }
        operation.set(counterKey(kind, bucket, isolate), bytes, {
          expireIn: (bucket + 1) * bucketMs + windowMs - now,
        });
        writes += 1;
      }
    }
    if (writes > 0) await operation.commit();
    for (const kind of Object.keys(this.#options.budgets) as StorageKind[]) {
      const { windowMs, bucketMs } = this.#options.budgets[kind];
      const oldest = Math.floor((now - windowMs) / bucketMs);
      let others = 0;
      const iterator = this.#kv.list<number>(
        {
          start: counterKey(kind, oldest + 1, ""),
          end: ["storage_budget", kind, Number.MAX_SAFE_INTEGER],
        },
        { consistency: "eventual", batchSize: 500 },
      );
      for await (const entry of iterator) {
        if (entry.key[3] !== isolate && typeof entry.value === "number") others += entry.value;
      }
      this.#others.set(kind, others);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#periodic?.stop();
    await this.#syncing?.catch(() => {});
    await this.sync().catch((error) => this.#options.onError?.(error));
  }
}
