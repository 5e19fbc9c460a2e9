/** Small formatting helpers for the link-mode pages (browser-safe, no locale surprises). */

const UNITS = ["B", "KB", "MB", "GB", "TB"];

/**
 * A byte count for people: 1024-based, one decimal below 10.
 *
 * @example
 * ```ts
 * formatBytes(1536); // "1.5 KB"
 * formatBytes(104857600); // "100 MB"
 * ```
 */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/**
 * A duration for people, rounded to its largest unit.
 *
 * @example
 * ```ts
 * formatDuration(3600); // "1 hour"
 * formatDuration(90); // "2 minutes"
 * ```
 */
export function formatDuration(seconds: number): string {
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  // Each unit is used until it rounds to the next one: 3599 s is "1 hour", not "60 minutes".
  if (Math.round(seconds) < 60) return plural(Math.max(0, Math.round(seconds)), "second");
  if (Math.round(seconds / 60) < 60) return plural(Math.round(seconds / 60), "minute");
  if (Math.round(seconds / 3600) < 24) return plural(Math.round(seconds / 3600), "hour");
  return plural(Math.round(seconds / 86400), "day");
}

/** "in 59 minutes" or "expired", from an ISO time and the current time. */
export function formatTimeLeft(expiresAt: string, now = Date.now()): string {
  const seconds = (Date.parse(expiresAt) - now) / 1000;
  return seconds <= 0 ? "expired" : `in ${formatDuration(seconds)}`;
}
