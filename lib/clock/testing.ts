/**
 * @module
 * For tests: a {@linkcode Clock} whose time moves only when the test says so
 * (on `@sinonjs/fake-timers`), so a timeout, a window or a retry interval is
 * passed in no time and never missed under load; and {@linkcode waitFor}, to
 * wait for a condition (an effect of I/O) rather than for a guessed time.
 */
import FakeTimers from "@sinonjs/fake-timers";
import type { Clock, TimerHandle } from "./mod.ts";

/** Real time {@linkcode FakeClock.nextTimer} waits for a timer to be set before it fails. */
const NEXT_TIMER_TIMEOUT_MS = 10_000;

/**
 * A clock that stands still until {@linkcode FakeClock.tick} or
 * {@linkcode FakeClock.nextTimer} moves it; timers fire then, in order.
 *
 * @example
 * ```ts
 * import { FakeClock } from "./testing.ts";
 *
 * const clock = new FakeClock();
 * let fired = false;
 * clock.setTimeout(() => fired = true, 5_000);
 * clock.tick(4_999); // fired is still false
 * clock.tick(1); // fired is true, at once
 * ```
 */
export class FakeClock implements Clock {
  #timers: ReturnType<typeof FakeTimers.createClock>;
  #waiting: (() => void)[] = [];

  /** Starts at `start` (ms since the epoch; default the real time now). */
  constructor(start: number = Date.now()) {
    this.#timers = FakeTimers.createClock(start);
  }

  now(): number {
    return this.#timers.now;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = this.#timers.setTimeout(callback, delayMs) as unknown as TimerHandle;
    for (const wake of this.#waiting.splice(0)) wake();
    return timer;
  }

  clearTimeout(timer: TimerHandle | undefined): void {
    if (timer !== undefined) this.#timers.clearTimeout(timer as never);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.countTimers();
  }

  /** Moves time on by `ms`, firing every timer that falls due on the way, in order. */
  tick(ms: number): void {
    this.#timers.tick(ms);
  }

  /**
   * Waits until a timer is pending (for the code under test to set it, however
   * long that takes in real time), then moves time on to it and fires it.
   * Resolves to how far time moved; rejects when no timer is set within 10 s.
   */
  async nextTimer(): Promise<number> {
    await this.timerSet();
    const before = this.#timers.now;
    this.#timers.next();
    return this.#timers.now - before;
  }

  /**
   * Resolves once a timer is pending (at once when one is), without moving time;
   * rejects when none is set within 10 s of real time.
   */
  async timerSet(): Promise<void> {
    if (this.pending === 0) {
      let wake!: () => void;
      const set = new Promise<void>((resolve) => this.#waiting.push(wake = resolve));
      let timeout: ReturnType<typeof setTimeout> | undefined;
      const failed = new Promise<never>((_, reject) => {
        timeout = setTimeout(
          () => reject(new Error(`No timer was set within ${NEXT_TIMER_TIMEOUT_MS} ms`)),
          NEXT_TIMER_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([set, failed]);
      } finally {
        clearTimeout(timeout);
        this.#waiting = this.#waiting.filter((waiting) => waiting !== wake);
      }
    }
  }
}

/** Options of {@linkcode waitFor}. */
export interface WaitForOptions {
  /** Fail after this long (default 10 s): only a broken test ever waits that long. */
  timeoutMs?: number;
  /** Said in the error when the condition never held. */
  message?: string;
}

/**
 * Resolves with the first truthy value `check` returns, checking again every
 * few milliseconds (a failed check counts as false); rejects after `timeoutMs`.
 * How long it waits depends only on when the condition holds.
 *
 * @example
 * ```ts
 * import { waitFor } from "./testing.ts";
 *
 * const kv = await Deno.openKv(":memory:");
 * setTimeout(() => kv.set(["ready"], true), 50);
 * await waitFor(async () => (await kv.get(["ready"])).value === true);
 * ```
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last: unknown;
  while (true) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 5)); // the polling interval
  }
  throw new Error(`timed out: ${options.message ?? "condition"}${last ? ` (${last})` : ""}`);
}
