import type { Context } from "hono";
import type { AppContext } from "../lib/context.ts";
import { ApiError } from "../lib/errors/mod.ts";
import {
  type Broker,
  parseCursor,
  parseSinceTime,
  type Position,
  positionAtTime,
} from "../lib/realtime/mod.ts";
import type { Cap, CapLease, TransportObserver } from "../lib/transport/mod.ts";
import { clientAddress } from "./_http.ts";
import type { HistogramHandle, SeriesHandle } from "../lib/metrics/mod.ts";

/** Metrics for every transport, labelled by endpoint kind. */
export function transportObserver(ctx: AppContext): TransportObserver {
  const { metrics } = ctx;
  // Frame counters sit on the hottest path: keep one handle per kind.
  const framesIn = new Map<string, SeriesHandle>();
  const framesOut = new Map<string, SeriesHandle>();
  const latencies = new Map<string, HistogramHandle>();
  const perKind = (cache: Map<string, SeriesHandle>, name: string, kind: string) => {
    let handle = cache.get(kind);
    if (!handle) cache.set(kind, handle = metrics.series(name, { kind }));
    return handle;
  };
  return {
    opened: (transport, kind, connection) => {
      ctx.connections.add(connection);
      metrics.adjust("switchboard_connections_open", { kind, transport }, 1);
      metrics.increment("switchboard_connections_total", { kind, transport });
    },
    closed: (transport, kind, connection) => {
      ctx.connections.delete(connection);
      metrics.adjust("switchboard_connections_open", { kind, transport }, -1);
    },
    frameIn: (kind) => perKind(framesIn, "switchboard_messages_in_total", kind).add(),
    frameOut: (kind) => perKind(framesOut, "switchboard_messages_out_total", kind).add(),
    rejected: (kind, code) => {
      metrics.increment("switchboard_frames_rejected_total", { kind, code });
      if (code === "rate_limited") {
        metrics.increment("switchboard_rate_limited_total", { bucket: `frames_${kind}` });
      }
    },
    slowConsumer: (kind) => metrics.increment("switchboard_slow_consumers_total", { kind }),
    delivered: (kind, latencyMs) => {
      let handle = latencies.get(kind);
      if (!handle) {
        latencies.set(
          kind,
          handle = metrics.histogram("switchboard_delivery_latency_seconds", { kind }),
        );
      }
      handle.observe(Math.max(0, latencyMs) / 1000);
    },
  };
}

/** Limits of every WebSocket endpoint, from configuration. */
export function socketLimits(ctx: AppContext): {
  maxFrameBytes: number;
  messagesPerSecond: number;
  sendQueueBytes: number;
  idleTimeoutSeconds: number;
  slowConsumerMs: number;
} {
  return {
    maxFrameBytes: ctx.config.MAX_MESSAGE_BYTES,
    messagesPerSecond: ctx.config.CONNECTION_MESSAGES_PER_SECOND,
    sendQueueBytes: ctx.config.SEND_QUEUE_BYTES,
    idleTimeoutSeconds: ctx.config.IDLE_TIMEOUT_SECONDS,
    slowConsumerMs: ctx.config.SLOW_CONSUMER_SECONDS * 1000,
  };
}

/**
 * The resume position of a stream request: `?since=` (a cursor or a bare offset)
 * or the `Last-Event-ID` header EventSource sends on reconnect. 400 when malformed.
 */
export function resumePosition(c: Context): Position | null {
  const text = c.req.query("since") ?? c.req.header("last-event-id") ?? null;
  if (text === null || text === "") return null;
  const position = parseCursor(text);
  if (!position) {
    throw new ApiError("invalid_cursor", `"${text.slice(0, 40)}" is not a cursor`);
  }
  return position;
}

/** Where a stream starts: a position, a time to find in the topic's log, or (null) live only. */
export type ResumeRequest = Position | { time: number } | null;

/**
 * The resume request of a stream: `?since=` as a time (`all`, `10m`, `2h`, a
 * timestamp; see `parseSinceTime`) or else {@linkcode resumePosition}. Call it
 * before authenticating (400 for a malformed value), then
 * {@linkcode resolveResume} with the topic.
 */
export function resumeRequest(c: Context): ResumeRequest {
  const text = c.req.query("since");
  const time = text ? parseSinceTime(text) : null;
  if (time && "all" in time) return { offset: 0, epoch: "" };
  return time ?? resumePosition(c);
}

/** The position a {@linkcode ResumeRequest} means in `topic` (a time costs a read of its log). */
export async function resolveResume(
  broker: Pick<Broker, "history">,
  topic: string,
  request: ResumeRequest,
): Promise<Position | null> {
  if (request === null || !("time" in request)) return request;
  return await positionAtTime(broker, topic, request.time);
}

/** 426 unless the request asks for a WebSocket upgrade. */
export function requireUpgrade(c: Context): void {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("upgrade_required", "This endpoint speaks WebSocket");
  }
}

/**
 * Takes this connection's places under the caps on concurrent connections: per
 * client address (`CONNECTIONS_PER_ADDRESS`), per user (`CONNECTIONS_PER_USER`) and
 * any `extra` cap (a user in one channel), counted per isolate. 429
 * `too_many_connections` when one is full. Pass the lease to the transport, which
 * gives it back when the connection ends (or release it if the upgrade fails).
 */
export function admitConnection(
  c: Context,
  ctx: AppContext,
  options: { userId?: string | undefined; extra?: Cap[] } = {},
): CapLease {
  const caps: Cap[] = [
    { key: `address:${clientAddress(c)}`, max: ctx.config.CONNECTIONS_PER_ADDRESS },
    ...(options.userId
      ? [{ key: `user:${options.userId}`, max: ctx.config.CONNECTIONS_PER_USER }]
      : []),
    ...(options.extra ?? []),
  ];
  const admission = ctx.connectionCaps.admit(caps);
  if (admission.ok) return admission.lease;
  const what = admission.cap.key.startsWith("address:")
    ? "this address"
    : admission.cap.key.startsWith("user:") && !admission.cap.key.includes("@")
    ? "this user"
    : "this user in this channel";
  ctx.metrics.increment("switchboard_rate_limited_total", { bucket: "connections" });
  throw new ApiError(
    "too_many_connections",
    `${what} already has ${admission.cap.max} open connections here; close one first`,
    { headers: { "Retry-After": "5" } },
  );
}

/** Runs `open` (an upgrade or a stream) and gives the lease back if it throws. */
export function openWithLease(lease: CapLease, open: () => Response): Response {
  try {
    return open();
  } catch (error) {
    lease.release();
    throw error;
  }
}
