/** A timer that runs the store's sweep now and then, in every isolate. */
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
 * using sweeper = startSweeper(store, { intervalMs: 60_000 });
 * ```
 */
export function startSweeper(store: Pick<LinkStore, "sweep">, options: SweeperOptions = {}): {
  stop(): void;
  [Symbol.dispose](): void;
} {
  const intervalMs = options.intervalMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const schedule = (): void => {
    if (stopped) return;
    const handle = setTimeout(run, intervalMs * (0.8 + Math.random() * 0.4));
    Deno.unrefTimer(handle);
    timer = handle;
  };
  const run = async (): Promise<void> => {
    try {
      options.onSweep?.(await store.sweep());
    } catch (error) {
      options.onError?.(error);
    }
    schedule();
  };
  const stop = (): void => {
    stopped = true;
    clearTimeout(timer);
  };
  options.signal?.addEventListener("abort", stop, { once: true });
  schedule();
  return { stop, [Symbol.dispose]: stop };
}
