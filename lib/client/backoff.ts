/**
 * Exponential backoff with jitter: attempt 0 waits about `minMs`, each further
 * attempt doubles, capped at `maxMs`; the wait is drawn from [50%, 100%] of that.
 */
export function backoffDelay(
  attempt: number,
  options: { minMs?: number; maxMs?: number; random?: () => number } = {},
): number {
  const minMs = options.minMs ?? 1000;
  const maxMs = options.maxMs ?? 30_000;
  const random = options.random ?? Math.random;
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}
