import { newId } from "../ids/mod.ts";
import { type Broker, parseCursor, parseSinceTime } from "../realtime/mod.ts";
import { userTopic } from "./center.ts";
import { NotificationError } from "./errors.ts";

/**
 * The lower bound of a history page for `?since=`: a time (`10m`, `2h`, a
 * timestamp: records published then or later), `all` (no bound), or a cursor of
 * the user's stream (records published after the event it names). The bound is
 * a record `seq` (a ULID) or a ULID time prefix, for `NotificationStore.history`'s
 * `afterSeq`. Throws `invalid_cursor` for anything else, or a cursor whose event
 * is no longer kept.
 */
export async function historyLowerBound(
  broker: Pick<Broker, "history">,
  userId: string,
  since: string,
  now: number = Date.now(),
): Promise<string | undefined> {
  const time = parseSinceTime(since, now);
  if (time && "all" in time) return undefined;
  // A ULID's first 10 characters are its time; every seq from that millisecond on sorts after.
  if (time) return newId(Math.max(0, Math.floor(time.time))).slice(0, 10);
  const position = parseCursor(since);
  if (!position) {
    throw new NotificationError(
      "invalid_cursor",
      `"${since.slice(0, 40)}" is not a cursor or time`,
    );
  }
  if (position.offset === 0) return undefined;
  const [event] = await broker.history<{ seq?: unknown }>(userTopic(userId), {
    after: position.offset - 1,
    limit: 1,
  });
  const sameEpoch = position.epoch === "" || event?.epoch === position.epoch;
  if (!event || event.offset !== position.offset || !sameEpoch) {
    throw new NotificationError(
      "invalid_cursor",
      `The event of cursor "${since.slice(0, 40)}" is no longer kept; ask with a time instead`,
    );
  }
  const seq = event.data?.seq;
  return typeof seq === "string" ? seq : newId(Math.floor(event.time) + 1).slice(0, 10);
}
