/** A timer that runs the store's sweep now and then, in every isolate. */
import { type Periodic, runPeriodically } from "../periodic/mod.ts";
import type { LinkStore, SweepReport } from "./store.ts";

/** Options of {@linkcode startSweeper}. */
export interface SweeperOptions {
  /** Time between sweeps; each one is jittered by ±20 % so isolates spread out. Default 60 s. */
  intervalMs?: number;
  /** Stops the sweeper. */
  signal?: AbortSignal;
  /** Called with each sweep's outcome. */
  onSweep?: (report: SweepReport) => void;
  /** Called when a sweep fails (the next one runs anyway). */
  onError?: (error: unknown) => void;
}

/**
 * Sweeps `store` every `intervalMs` until stopped. The timer is unref'd, so it
 * never keeps a process alive. Sweeps from several isolates may overlap; every
 * step of a sweep is idempotent.
 *
 * @example
 * ```ts
 * import { KvLinkStore } from "./store.ts";
 *
 * const store = new KvLinkStore(await Deno.openKv(":memory:"));
 * using _sweeper = startSweeper(store, { intervalMs: 60_000 }); // stops at the end of the scope
 * ```
 */
export function startSweeper(
  store: Pick<LinkStore, "sweep">,
  options: SweeperOptions = {},
): Periodic {
  return runPeriodically(async () => options.onSweep?.(await store.sweep()), {
    intervalMs: options.intervalMs ?? 60_000,
    signal: options.signal,
    onError: options.onError,
  });
}
