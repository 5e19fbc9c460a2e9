/** A timer that runs a store's sweep now and then, in every isolate (link mode, live transfer). */
import type { Clock } from "../clock/mod.ts";
import { type Periodic, runPeriodically } from "./mod.ts";

/** Options of {@linkcode startSweeper}. */
export interface SweeperOptions<Report> {
  /** Time between sweeps; each one is jittered by ±20 % so isolates spread out. */
  intervalMs: number;
  /** Stops the sweeper. */
  signal?: AbortSignal;
  /** Called with each sweep's outcome (awaited before the next sweep is scheduled). */
  onSweep?: (report: Report) => void | Promise<void>;
  /** Called when a sweep fails (the next one runs anyway). */
  onError?: (error: unknown) => void;
  /** The timers (default the system's). */
  clock?: Clock;
}

/**
 * Sweeps `store` every `intervalMs` until stopped. The timer never keeps a
 * process alive. Sweeps from several isolates may overlap, so every step of a
 * store's sweep must be idempotent (or an atomic commit that only one wins).
 *
 * @example
 * ```ts
 * const store = { sweep: () => Promise.resolve({ purged: 0 }) };
 * await using _sweeper = startSweeper(store, {
 *   intervalMs: 60_000,
 *   onSweep: (report) => console.log(report.purged),
 * });
 * ```
 */
export function startSweeper<Report>(
  store: { sweep(): Promise<Report> },
  options: SweeperOptions<Report>,
): Periodic {
  return runPeriodically(async () => await options.onSweep?.(await store.sweep()), {
    intervalMs: options.intervalMs,
    signal: options.signal,
    onError: options.onError,
    clock: options.clock,
  });
}
