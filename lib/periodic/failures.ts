/** How a background loop reports a failed run (it keeps running either way). */

/** Where failures go: the log, and a counter an operator can alert on. */
export interface LoopFailureSinks {
  log: { warn(event: string, fields?: Record<string, unknown>): void };
  metrics: { increment(name: string, labels?: Record<string, string>): void };
}

/**
 * The `onError` of background loop `loop` (a snake_case name such as
 * `transfer_sweep`): each failure is a `<loop>_failed` warning and one more on
 * `switchboard_background_failures_total{loop}`. Loops run again after a
 * failure, so without this a loop that always fails would look like one that
 * works.
 *
 * @example
 * ```ts
 * import { runPeriodically } from "./mod.ts";
 * declare const sinks: LoopFailureSinks, sweep: () => Promise<void>;
 * runPeriodically(sweep, {
 *   intervalMs: 60_000,
 *   onError: reportLoopFailures(sinks, "link_sweep"),
 * });
 * ```
 */
export function reportLoopFailures(
  sinks: LoopFailureSinks,
  loop: string,
): (error: unknown) => void {
  return (error) => {
    sinks.metrics.increment("switchboard_background_failures_total", { loop });
    sinks.log.warn(`${loop}_failed`, { loop, error });
  };
}
