/** Transfer sessions counted by state, for the admin dashboard. */
import { RECORD_PREFIX } from "./_keys.ts";
import { effectiveState, TRANSFER_STATES, type TransferRecord } from "./record.ts";

/**
 * Counts transfer sessions by their effective state (expiry re-checked at `now`,
 * default the time now), reading at most `limit`.
 */
export async function countTransfersByState(
  kv: Deno.Kv,
  options: { limit?: number; now?: number } = {},
): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(
    TRANSFER_STATES.map((state) => [state, 0]),
  );
  const now = options.now ?? Date.now();
  const records = kv.list<TransferRecord>({ prefix: RECORD_PREFIX }, {
    limit: options.limit ?? 10_000,
  });
  for await (const entry of records) {
    if (entry.value?.state) {
      const state = effectiveState(entry.value, now);
      counts[state] = (counts[state] ?? 0) + 1;
    }
  }
  return counts;
}
