/**
 * @module
 * A background task that runs now and then in every isolate: each wait is
 * jittered by ±20 % so isolates started together spread out, a failure is
 * reported and the next run happens anyway, and the timer never keeps a
 * process alive.
 */
import { type Clock, systemClock, type TimerHandle } from "../clock/mod.ts";

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

/** A stoppable periodic task. */
export interface Periodic extends Disposable {
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
 * using _sweeper = runPeriodically(() => console.log("sweep"), { intervalMs: 60_000 });
 * ```
 */
export function runPeriodically(
  task: () => unknown | Promise<unknown>,
  options: PeriodicOptions,
): Periodic {
  const clock = options.clock ?? systemClock;
  let timer: TimerHandle | undefined;
  let stopped = false;
  const schedule = (delay: number): void => {
    if (stopped) return;
    timer = clock.setTimeout(run, delay, { unref: true });
  };
  const run = async (): Promise<void> => {
    try {
      await task();
    } catch (error) {
      options.onError?.(error);
    }
    schedule(jittered(options.intervalMs));
  };
  const stop = (): void => {
    stopped = true;
    clock.clearTimeout(timer);
  };
  options.signal?.addEventListener("abort", stop, { once: true });
  schedule(options.firstDelayMs ?? jittered(options.intervalMs));
  return { stop, [Symbol.dispose]: stop };
}
