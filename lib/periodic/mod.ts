/**
 * @module
 * A background task that runs now and then in every isolate: each wait is
 * jittered by ±20 % so isolates started together spread out, a failure is
 * reported and the next run happens anyway, and the timer never keeps a
 * process alive. {@linkcode reportLoopFailures} is how every background loop
 * reports a failure.
 */
import { type Clock, systemClock, type TimerHandle } from "../clock/mod.ts";
export { type LoopFailureSinks, reportLoopFailures } from "./failures.ts";
export { startSweeper, type SweeperOptions } from "./sweeper.ts";

/** Options of {@linkcode runPeriodically}. */
export interface PeriodicOptions {
  /** Time between runs (each jittered by ±20 %). */
  intervalMs: number;
  /** Wait before the first run; default one jittered interval. */
  firstDelayMs?: number;
  /** Stops the task. */
  signal?: AbortSignal;
  /** Called when a run fails. */
  onError?: (error: unknown) => void;
  /** The timers (default {@linkcode systemClock}). */
  clock?: Clock;
}

/**
 * A stoppable periodic task. `stop()` (or `using`) stops the timer; `await using`
 * (`Symbol.asyncDispose`) also waits for a run in progress to finish.
 */
export interface Periodic extends Disposable, AsyncDisposable {
  stop(): void;
}

/** A wait of `intervalMs` ± 20 %. */
export function jittered(intervalMs: number): number {
  return intervalMs * (0.8 + Math.random() * 0.4);
}

/**
 * Runs `task` every `intervalMs` (jittered) until stopped; runs never overlap.
 *
 * @example
 * ```ts
 * await using _sweeper = runPeriodically(() => console.log("sweep"), { intervalMs: 60_000 });
 * ```
 */
export function runPeriodically(
  task: () => unknown | Promise<unknown>,
  options: PeriodicOptions,
): Periodic {
  const clock = options.clock ?? systemClock;
  let timer: TimerHandle | undefined;
  let stopped = false;
  let running: Promise<void> | null = null;
  const schedule = (delay: number): void => {
    if (stopped) return;
    timer = clock.setTimeout(() => running = run(), delay, { unref: true });
  };
  const run = async (): Promise<void> => {
    try {
      await task();
    } catch (error) {
      options.onError?.(error);
    }
    running = null;
    schedule(jittered(options.intervalMs));
  };
  const stop = (): void => {
    stopped = true;
    clock.clearTimeout(timer);
  };
  options.signal?.addEventListener("abort", stop, { once: true });
  schedule(options.firstDelayMs ?? jittered(options.intervalMs));
  return {
    stop,
    [Symbol.dispose]: stop,
    async [Symbol.asyncDispose]() {
      stop();
      // A run's failure already went to onError: waiting must not throw it again.
      await running;
    },
  };
}
