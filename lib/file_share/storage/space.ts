/**
 * How much space the browser grants this origin (StorageManager estimate), and
 * whether a transfer fits in it.
 */
import { formatBytes } from "../../link_client/display.ts";

/** What `navigator.storage.estimate()` answers (fields may be missing). */
export interface SpaceEstimate {
  quota?: number;
  usage?: number;
}

/** Whether `needed` bytes fit. */
export interface SpaceCheck {
  /** False only when the estimate says they do not fit. */
  fits: boolean;
  /** Bytes still available (quota − usage); null when the browser does not say. */
  availableBytes: number | null;
  /** For people, when they do not fit: both sizes. */
  message: string | null;
}

/**
 * Checks `neededBytes` against an estimate. Without a quota in the estimate
 * the answer is "fits": the browser gave nothing to refuse on.
 *
 * @example
 * ```ts
 * checkSpace(3_000_000_000, { quota: 1_000_000_000, usage: 0 }).fits; // false
 * ```
 */
export function checkSpace(neededBytes: number, estimate: SpaceEstimate | null): SpaceCheck {
  const quota = estimate?.quota;
  if (typeof quota !== "number" || !Number.isFinite(quota)) {
    return { fits: true, availableBytes: null, message: null };
  }
  const availableBytes = Math.max(0, quota - (estimate?.usage ?? 0));
  if (neededBytes <= availableBytes) return { fits: true, availableBytes, message: null };
  return {
    fits: false,
    availableBytes,
    message: `These files need ${formatBytes(neededBytes)}, but this browser grants only ${
      formatBytes(availableBytes)
    } of storage to this site. Free some space (or use another browser or device) and ask the sender again.`,
  };
}

/** The browser's estimate; null when it has none (or refuses to say). */
export async function estimateSpace(
  storage: Pick<StorageManager, "estimate"> | undefined = globalThis.navigator?.storage,
): Promise<SpaceEstimate | null> {
  if (typeof storage?.estimate !== "function") return null;
  try {
    const { quota, usage } = await storage.estimate();
    return { ...(quota !== undefined ? { quota } : {}), ...(usage !== undefined ? { usage } : {}) };
  } catch {
    return null;
  }
}
