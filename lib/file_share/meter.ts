/** Speed and time left of a transfer, from byte counts sampled over time. */

/** Options of {@linkcode RateMeter}. */
export interface RateMeterOptions {
  /** Speed is averaged over this much recent time. Default 3000 ms. */
  windowMs?: number;
  /** Clock in milliseconds. Default `performance.now`. */
  now?: () => number;
}

/**
 * Measures the speed of a growing byte count over a sliding window, so the
 * number a person reads follows changes without jumping on every chunk.
 *
 * @example
 * ```ts
 * const meter = new RateMeter();
 * meter.update(4_000_000); // bytes so far: call whenever the count changes, or on a timer
 * meter.bytesPerSecond; // e.g. 9_800_000
 * meter.secondsLeft(50_000_000 - 4_000_000); // e.g. 4.7, or null while unknown
 * ```
 */
export class RateMeter {
  #windowMs: number;
  #now: () => number;
  #samples: { time: number; bytes: number }[] = [];

  constructor(options: RateMeterOptions = {}) {
    this.#windowMs = options.windowMs ?? 3000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Records the current count (cumulative bytes). */
  update(bytes: number): void {
    const time = this.#now();
    const last = this.#samples[this.#samples.length - 1];
    if (last && last.bytes === bytes && time - last.time < 250) return;
    this.#samples.push({ time, bytes });
    // Keep one sample older than the window as the baseline.
    while (this.#samples.length > 2 && time - this.#samples[1]!.time >= this.#windowMs) {
      this.#samples.shift();
    }
  }

  /** Bytes per second over the window; 0 until there is at least 200 ms of history. */
  get bytesPerSecond(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last.time - first.time < 200) return 0;
    return Math.max(0, (last.bytes - first.bytes) / ((last.time - first.time) / 1000));
  }

  /** Seconds until `remaining` more bytes at the current speed; null while the speed is unknown. */
  secondsLeft(remaining: number): number | null {
    if (remaining <= 0) return 0;
    const speed = this.bytesPerSecond;
    return speed > 0 ? remaining / speed : null;
  }

  /** Forgets the history (e.g. when a transfer restarts). */
  reset(): void {
    this.#samples = [];
  }
}

/**
 * A speed for people: "9.4 MB/s".
 *
 * @example
 * ```ts
 * formatSpeed(1536); // "1.5 KB/s"
 * ```
 */
export function formatSpeed(bytesPerSecond: number): string {
  const units = ["B/s", "KB/s", "MB/s", "GB/s"];
  let value = bytesPerSecond;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 || value >= 10 ? 0 : 1)} ${units[unit]}`;
}

/**
 * Time left for people: "12 s left", "3 min left", "about 2 h left".
 *
 * @example
 * ```ts
 * formatEta(75); // "1 min 15 s left"
 * formatEta(null); // "estimating…"
 * ```
 */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "estimating…";
  const whole = Math.max(0, Math.ceil(seconds));
  if (whole < 60) return `${whole} s left`;
  if (whole < 3600) {
    const minutes = Math.floor(whole / 60);
    const rest = whole % 60;
    return rest && minutes < 10 ? `${minutes} min ${rest} s left` : `${minutes} min left`;
  }
  return `about ${Math.round(whole / 3600)} h left`;
}
