/**
 * @module
 * Time as a dependency: the {@linkcode Clock} that modules with timeouts,
 * windows and retry intervals take as an option (default
 * {@linkcode systemClock}), so a test moves time on by hand instead of waiting
 * for it (`FakeClock` in `lib/clock/testing.ts`). Modules that only read the
 * time take `now?: () => number` instead.
 *
 * @example
 * ```ts
 * import { type Clock, systemClock } from "./mod.ts";
 *
 * function remindLater(remind: () => void, clock: Clock = systemClock): void {
 *   clock.setTimeout(remind, 5_000);
 * }
 * remindLater(() => console.log("5 s later"));
 * ```
 */

declare const timerBrand: unique symbol;

/** A pending timer of one {@linkcode Clock}: only that clock's `clearTimeout` takes it. */
export type TimerHandle = { readonly [timerBrand]: true };

/** Options of {@linkcode Clock.setTimeout}. */
export interface TimerOptions {
  /** The timer does not keep the process alive (default false). */
  unref?: boolean;
}

/** Reads the time and runs timers on it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once, `delayMs` from now on this clock. */
  setTimeout(callback: () => void, delayMs: number, options?: TimerOptions): TimerHandle;
  /** Cancels a timer of this clock; a timer that fired already or `undefined` is ignored. */
  clearTimeout(timer: TimerHandle | undefined): void;
}

/** The real clock: `Date.now()` and the global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, delayMs, options = {}) {
    const id = setTimeout(callback, delayMs);
    if (options.unref) Deno.unrefTimer(id);
    return id as unknown as TimerHandle;
  },
  clearTimeout(timer) {
    clearTimeout(timer as unknown as number | undefined);
  },
};
