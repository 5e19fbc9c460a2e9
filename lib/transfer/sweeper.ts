/** A timer that runs the store's sweep now and then, in every isolate. */
import { type Periodic, runPeriodically } from "../periodic/mod.ts";
import type { SweepReport, TransferStore } from "./store.ts";

/** Options of {@linkcode startTransferSweeper}. */
export interface TransferSweeperOptions {
  /** Time between sweeps, jittered by ±20 % so isolates spread out. Default 30 s. */
  intervalMs?: number;
  /** Stops the sweeper. */
  signal?: AbortSignal;
  /** Called with each sweep's outcome (e.g. to tell connected peers their session expired). */
  onSweep?: (report: SweepReport) => void | Promise<void>;
  /** Called when a sweep fails (the next one runs anyway). */
  onError?: (error: unknown) => void;
}

/**
 * Sweeps `store` every `intervalMs` until stopped. Sweeps of several isolates
 * may overlap: each transition is an atomic commit, so a session is reported
 * expired by exactly one of them. The timer never keeps a process alive.
 *
 * @example
 * ```ts
 * import { KvTransferStore } from "./store.ts";
 *
 * const store = new KvTransferStore(await Deno.openKv(":memory:"));
 * using _sweeper = startTransferSweeper(store, { intervalMs: 30_000 }); // stops with the scope
 * ```
 */
export function startTransferSweeper(
  store: Pick<TransferStore, "sweep">,
  options: TransferSweeperOptions = {},
): Periodic {
  return runPeriodically(async () => await options.onSweep?.(await store.sweep()), {
    intervalMs: options.intervalMs ?? 30_000,
    signal: options.signal,
    onError: options.onError,
  });
}
