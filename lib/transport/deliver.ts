import {
  type Broker,
  formatCursor,
  type Position,
  type SubscribeOptions,
  type TopicEvent,
} from "../realtime/mod.ts";
import { CLOSE_CODES } from "./close_codes.ts";
import type { Connection } from "./connection.ts";

// Subscribers of one topic on one isolate share each event object, so its frame is
// serialized once per (event, toFrame) instead of once per connection.
const serialized = new WeakMap<object, Map<unknown, string | null>>();

function frameText<T>(
  event: TopicEvent<T>,
  cursor: string,
  toFrame: DeliverOptions<T>["toFrame"],
): string | null {
  let byFunction = serialized.get(event);
  if (!byFunction) {
    byFunction = new Map();
    serialized.set(event, byFunction);
  }
  if (byFunction.has(toFrame)) return byFunction.get(toFrame)!;
  const frame = toFrame(event, cursor);
  const text = frame === null ? null : JSON.stringify(frame);
  byFunction.set(toFrame, text);
  return text;
}

/** How {@linkcode deliverTopic} turns events into frames. */
export interface DeliverOptions<T> {
  /** Resume after this position; default: from now on. */
  since?: Position | null | undefined;
  /**
   * The frame for an event, or null to skip it. `cursor` is the event's resume
   * cursor. Must depend only on the event: the result is shared by every
   * connection using the same function (pass `perConnection` otherwise).
   */
  toFrame(event: TopicEvent<T>, cursor: string): object | null;
  /** Set when `toFrame` differs per connection (disables sharing serialized frames). */
  perConnection?: boolean;
  /** SSE event name for a frame (default none, i.e. "message"). */
  eventName?(event: TopicEvent<T>): string | undefined;
  /** Called after each delivered event. */
  onDelivered?(event: TopicEvent<T>): void;
  /** Called once the subscription knows where it starts (see `SubscribeOptions.onStart`). */
  onStart?: SubscribeOptions["onStart"];
  /** A client whose queue does not drain within this time is closed as slow (default: the connection's `slowConsumerMs`). */
  drainTimeoutMs?: number;
}

/**
 * Streams a topic to a connection until it closes: replay after `since`, then
 * live events, each with its cursor (the SSE `id:`). Skipped ranges are reported
 * as an error frame (`too_far_behind` or `epoch_changed`) carrying the cursor
 * the stream continues from. Waits for the send queue to drain between events,
 * so a slow client is paced, and closed (4008) only when it stops reading.
 */
export async function deliverTopic<T>(
  broker: Broker,
  topic: string,
  connection: Connection,
  options: DeliverOptions<T>,
): Promise<void> {
  const drainTimeoutMs = options.drainTimeoutMs ?? connection.slowConsumerMs;
  const subscription = broker.subscribeBatches<T>(topic, {
    since: options.since,
    signal: connection.signal,
    onStart: options.onStart,
  });
  for await (const batch of subscription) {
    for (const item of batch) {
      if (connection.signal.aborted) return;
      if (item.kind === "reset") {
        const message = item.reason === "too_far_behind"
          ? "Events after your cursor are no longer retained; continuing from the oldest kept"
          : "The topic's log started over; continuing from its beginning";
        const cursor = formatCursor(item.from);
        // Over SSE the id moves too, so a reconnect resumes from here, not from before the gap.
        connection.send(
          { type: "error", code: item.reason, message, cursor },
          item.from.epoch ? { event: "error", id: cursor } : { event: "error" },
        );
        continue;
      }
      const cursor = formatCursor(item.event);
      const frame = options.perConnection
        ? options.toFrame(item.event, cursor)
        : frameText(item.event, cursor, options.toFrame);
      if (frame) {
        const event = options.eventName?.(item.event);
        if (connection.send(frame, event ? { id: cursor, event } : { id: cursor })) {
          connection.delivered?.(item.event.time);
        }
        options.onDelivered?.(item.event);
      }
      if (!connection.congested) continue;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        connection.drained().then(() => false),
        new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), drainTimeoutMs)),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        connection.close(CLOSE_CODES.slowConsumer, "slow consumer: reconnect and resume");
        return;
      }
    }
  }
}
