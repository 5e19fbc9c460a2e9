import type { RetentionPolicy } from "./types.ts";

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** Retention by topic kind (the part of the name before the first ':'). */
const RETENTION: Record<string, RetentionPolicy> = {
  transfer: { maxCount: 2000, maxAgeMs: DAY },
  user: { maxCount: 1000, maxAgeMs: 30 * DAY },
  channel: { maxCount: 10_000, maxAgeMs: 30 * DAY },
  presence: { maxCount: 500, maxAgeMs: HOUR },
  app: { maxCount: 10_000, maxAgeMs: 7 * DAY },
};
const FALLBACK: RetentionPolicy = { maxCount: 1000, maxAgeMs: DAY };

/** The retention policy of a topic. */
export function retentionFor(
  topic: string,
  overrides: Record<string, Partial<RetentionPolicy>> = {},
): RetentionPolicy {
  const kind = topic.split(":", 1)[0] ?? "";
  return { ...(RETENTION[kind] ?? FALLBACK), ...overrides[kind] };
}

/** Topic names: a kind, a colon, then up to 200 safe characters. */
export const TOPIC_PATTERN = /^[a-z]+:[A-Za-z0-9_.:@-]{1,200}$/;
