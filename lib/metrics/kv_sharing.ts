import type { MetricsRegistry, MetricsSnapshot } from "./registry.ts";

const PREFIX = ["metrics", "isolate"] as const;

/** Shares one isolate's metrics through KV and sums every isolate's on demand. */
export class KvMetricsSharing implements AsyncDisposable {
  #kv: Deno.Kv;
  #registry: MetricsRegistry;
  #isolate: string;
  #timer: ReturnType<typeof setInterval>;
  #ttlMs: number;

  constructor(
    kv: Deno.Kv,
    registry: MetricsRegistry,
    options: { isolate: string; intervalMs?: number },
  ) {
    this.#kv = kv;
    this.#registry = registry;
    this.#isolate = options.isolate;
    const interval = options.intervalMs ?? 2000;
    this.#ttlMs = interval * 5;
    this.#timer = setInterval(() => this.flush().catch(() => {}), interval);
    Deno.unrefTimer(Number(this.#timer));
  }

  /** Writes this isolate's snapshot now. */
  async flush(): Promise<void> {
    await this.#kv.set([...PREFIX, this.#isolate], {
      at: Date.now(),
      values: this.#registry.snapshot(),
    }, { expireIn: this.#ttlMs });
  }

  /** Sums the snapshots of every isolate seen within the last few intervals. */
  async collect(): Promise<MetricsSnapshot> {
    await this.flush();
    const total: MetricsSnapshot = {};
    let isolates = 0;
    const now = Date.now();
    for await (
      const entry of this.#kv.list<{ at: number; values: MetricsSnapshot }>({ prefix: PREFIX })
    ) {
      if (!entry.value || now - entry.value.at > this.#ttlMs) continue;
      isolates += 1;
      for (const [series, value] of Object.entries(entry.value.values)) {
        total[series] = (total[series] ?? 0) + value;
      }
    }
    total["switchboard_isolates"] = isolates;
    return total;
  }

  /** Removes this isolate's snapshot (on graceful shutdown). */
  async [Symbol.asyncDispose](): Promise<void> {
    clearInterval(this.#timer);
    await this.#kv.delete([...PREFIX, this.#isolate]).catch(() => {});
  }
}
