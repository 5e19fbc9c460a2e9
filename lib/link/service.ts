/**
 * The link-mode job of one isolate: the file store in KV and the sweeper that
 * purges expired files and abandoned uploads.
 */
import type { Logger } from "../log/mod.ts";
import { type Periodic, reportLoopFailures, startSweeper } from "../periodic/mod.ts";
import { KvLinkStore, type LinkStore } from "./store.ts";

/** What the link job takes from the core. */
export interface LinkCore {
  kv: Deno.Kv;
  log: Logger;
  metrics: { increment(name: string, labels?: Record<string, string>): void };
}

/** Options of {@linkcode LinkService}. */
export interface LinkServiceOptions {
  /**
   * Chunk commits of one upload in flight at once: 1 for a local KV file, more
   * when each commit is a network round trip (see `LinkStoreOptions`).
   */
  commitsInFlight: number;
  /** Time between sweeps (default 60 s). */
  sweepIntervalMs?: number;
}

/**
 * Owns link mode's store and sweeper; `await using` (or
 * `[Symbol.asyncDispose]()`) stops the sweeper and waits for a sweep in progress.
 *
 * @example
 * ```ts
 * declare const core: LinkCore; // the isolate's kv, log and metrics
 * await using link = new LinkService(core, { commitsInFlight: 1 });
 * await link.store.get("01JZ0000000000000000000000");
 * ```
 */
export class LinkService implements AsyncDisposable {
  /** The files, in KV. */
  readonly store: LinkStore;
  readonly #sweeper: Periodic;

  constructor(core: LinkCore, options: LinkServiceOptions) {
    this.store = new KvLinkStore(core.kv, { commitsInFlight: options.commitsInFlight });
    this.#sweeper = startSweeper(this.store, {
      intervalMs: options.sweepIntervalMs ?? 60_000,
      onSweep: (report) => {
        if (report.files || report.uploads) core.log.info("link_swept", { ...report });
      },
      onError: reportLoopFailures(core, "link_sweep"),
    });
  }

  /** Stops the sweeper, waiting for a sweep in progress. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#sweeper[Symbol.asyncDispose]();
  }
}
