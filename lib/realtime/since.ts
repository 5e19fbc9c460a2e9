import type { Broker, Position } from "./types.ts";

/**
 * What `?since=` may say besides a cursor (ntfy style): `all` (everything the
 * topic still keeps), a duration back from now (`30s`, `10m`, `2h`, `1d`), or a
 * point in time (ISO 8601 such as `2026-12-05T03:00:00Z`, or Unix seconds with 10
 * digits). A cursor or a bare offset (up to 9 digits) is not a time: null.
 *
 * @example
 * ```ts
 * parseSinceTime("10m", 1_000_000_000_000); // { time: 999_999_400_000 }
 * parseSinceTime("all"); // { all: true }
 * parseSinceTime("k2x9fq1a-42"); // null: a cursor
 * ```
 */
export function parseSinceTime(
  text: string,
  now: number = Date.now(),
): { all: true } | { time: number } | null {
  if (text === "all") return { all: true };
  const duration = /^(\d{1,9})(s|m|h|d)$/.exec(text);
  if (duration) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as "s"];
    return { time: now - Number(duration[1]) * unit };
  }
  // Unix seconds: 10 digits (from 2001 to 2286). Offsets that large never occur in practice,
  // so a bare number up to 9 digits stays an offset (the cursor contract).
  if (/^\d{10}$/.test(text)) return { time: Number(text) * 1000 };
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const time = Date.parse(text);
    return Number.isFinite(time) ? { time } : null;
  }
  return null;
}

/** Events per read while looking for a time in a topic's log. */
const PAGE = 200;

/**
 * The position in `topic` to subscribe from so that the events published at or
 * after `time` follow: the last kept event older than `time` (or just before the
 * oldest kept one when all are newer; offset 0 for an empty topic). Reads the
 * log newest first, so recent times cost one read.
 */
export async function positionAtTime(
  broker: Pick<Broker, "history">,
  topic: string,
  time: number,
): Promise<Position> {
  let before: number | undefined;
  let oldest: { offset: number; epoch: string } | null = null;
  for (;;) {
    const page = await broker.history(topic, { before, limit: PAGE, reverse: true });
    for (const event of page) {
      if (event.time < time) return { offset: event.offset, epoch: event.epoch };
      oldest = event;
    }
    if (page.length < PAGE) break;
    before = page.at(-1)!.offset;
  }
  return oldest ? { offset: oldest.offset - 1, epoch: oldest.epoch } : { offset: 0, epoch: "" };
}
