import { type Periodic, runPeriodically } from "../periodic/mod.ts";
import type { MetricsRegistry, MetricsSnapshot } from "./registry.ts";

const PREFIX = ["metrics", "isolate"] as const;

/** One isolate's report as stored in KV. */
export interface IsolateReport {
  isolate: string;
  /** When it was written (ms since epoch). */
  at: number;
  values: MetricsSnapshot;
  /** Whatever the isolate's `details` callback returned (topics, recent errors, …). */
  details: unknown;
}

/** Options of {@linkcode KvMetricsSharing}. */
export interface KvMetricsSharingOptions {
  /** Names this isolate's report. */
  isolate: string;
  /** Time between writes of this isolate's report (default 2 s); a report lives five of them. */
  intervalMs?: number;
  /** Adds detail to every report (see {@linkcode KvMetricsSharing.setDetails}). */
  details?: () => unknown;
  /**
   * Called when writing the report (or deleting it on dispose) fails; the next
   * write runs anyway, and a report left behind expires by itself.
   */
  onError?: (error: unknown) => void;
}

/** Shares one isolate's metrics through KV and sums every isolate's on demand. */
export class KvMetricsSharing implements AsyncDisposable {
  #kv: Deno.Kv;
  #registry: MetricsRegistry;
  #isolate: string;
  #writer: Periodic;
  #ttlMs: number;
  #details: () => unknown;
  #onError: (error: unknown) => void;

  constructor(kv: Deno.Kv, registry: MetricsRegistry, options: KvMetricsSharingOptions) {
    this.#kv = kv;
    this.#registry = registry;
    this.#isolate = options.isolate;
    this.#details = options.details ?? (() => null);
    this.#onError = options.onError ?? (() => {});
    const interval = options.intervalMs ?? 2000;
    this.#ttlMs = interval * 5;
    this.#writer = runPeriodically(() => this.flush(), {
      intervalMs: interval,
      onError: this.#onError,
    });
  }

  /** Adds detail to every later report (set once the services exist). */
  setDetails(details: () => unknown): void {
    this.#details = details;
  }

  /** This isolate's report as of now. */
  #report(): IsolateReport {
    let details: unknown = null;
    try {
      details = this.#details();
    } catch { /* details are best effort */ }
    return { isolate: this.#isolate, at: Date.now(), values: this.#registry.snapshot(), details };
  }

  /** Writes this isolate's snapshot now. */
  async flush(): Promise<void> {
    await this.#kv.set([...PREFIX, this.#isolate], this.#report(), { expireIn: this.#ttlMs });
  }

  /**
   * The reports of every isolate seen within the last few intervals, this one's
   * fresh from memory. Only reads KV: a scrape costs no write, however often it comes.
   */
  async reports(): Promise<IsolateReport[]> {
    const now = Date.now();
    const reports: IsolateReport[] = [this.#report()];
    for await (const entry of this.#kv.list<IsolateReport>({ prefix: PREFIX })) {
      const report = entry.value;
      if (report && report.isolate !== this.#isolate && now - report.at <= this.#ttlMs) {
        reports.push(report);
      }
    }
    return reports;
  }

  /** Sums the snapshots of every isolate seen within the last few intervals. */
  async collect(): Promise<MetricsSnapshot> {
    const reports = await this.reports();
    const total: MetricsSnapshot = {};
    for (const report of reports) {
      for (const [series, value] of Object.entries(report.values)) {
        total[series] = (total[series] ?? 0) + value;
      }
    }
    total["switchboard_isolates"] = reports.length;
    return total;
  }

  /** Stops the writes (waiting for one in progress) and removes this isolate's report. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#writer[Symbol.asyncDispose]();
    await this.#kv.delete([...PREFIX, this.#isolate]).catch(this.#onError);
  }
}
