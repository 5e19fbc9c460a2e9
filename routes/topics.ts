import { Hono } from "hono";
import { z } from "zod";
import type { AppContext } from "../lib/context.ts";
import { ApiError } from "../lib/errors/mod.ts";
import { hasPermission, type TokenClaims } from "../lib/identity/mod.ts";
import {
  formatCursor,
  type Position,
  PublishError,
  TOPIC_PATTERN,
  type TopicEvent,
} from "../lib/realtime/mod.ts";
import { acceptWebSocket, type Connection, deliverTopic, openSse } from "../lib/transport/mod.ts";
import { requireApiKey, requireStreamToken, requireUser } from "./_auth.ts";
import { bodyLimit, readJson, readQuery } from "./_http.ts";
import {
  admitConnection,
  openWithLease,
  requireUpgrade,
  resolveResume,
  resumeRequest,
  socketLimits,
  transportObserver,
} from "./_realtime.ts";

/** The body of `POST /api/topics/:topic/publish`. */
export const topicPublishSchema = z.object({
  data: z.unknown().refine((value) => value !== undefined, "data is required"),
  id: z.string().min(1).max(128).optional(),
}).strict();

/** The query of `GET /api/topics/:topic/history`. */
export const topicHistoryQuerySchema = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** Frames a client may send on a topic WebSocket (besides `ping`). */
export const topicClientFrames = {
  publish: z.object({
    type: z.literal("publish"),
    data: z.unknown().refine((value) => value !== undefined, "data is required"),
    id: z.string().min(1).max(128).optional(),
  }).strict(),
};

/** The frame every topic stream sends per event. */
export function topicEventFrame(event: TopicEvent, cursor: string): object {
  return {
    type: "event",
    topic: event.topic,
    offset: event.offset,
    cursor,
    time: event.time,
    data: event.data,
  };
}

function checkTopicName(topic: string): void {
  if (!TOPIC_PATTERN.test(topic)) {
    throw new ApiError(400, "invalid_topic", `"${topic.slice(0, 60)}" is not a topic name`);
  }
}

/**
 * Who may read a topic through the generic API: `app:*` with the `topics:read`
 * permission; `user:<id>` only for that user. Other kinds belong to their jobs.
 */
function checkReadAccess(topic: string, claims: TokenClaims): void {
  checkTopicName(topic);
  if (topic.startsWith("app:") && hasPermission(claims, "topics:read")) return;
  if (topic === `user:${claims.sub}`) return;
  throw new ApiError(403, "forbidden", `This token cannot read "${topic}"`);
}

/** The HTTP status of each way a publish can be refused. */
const PUBLISH_ERROR_STATUS: Record<PublishError["code"], number> = {
  invalid_topic: 400,
  event_too_large: 413,
  rate_limited: 429,
  quota_exceeded: 507,
};

/**
 * The generic topic API: backends publish to `app:*` topics with the API key;
 * clients follow a topic over WebSocket or SSE and resume with a cursor.
 */
export function topicRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  const observer = transportObserver(ctx);
  const deliveries = ctx.metrics.series("switchboard_deliveries_total", { kind: "topics" });

  function stream(
    connection: Connection,
    claims: TokenClaims,
    topic: string,
    since: Position | null,
  ) {
    ctx.userConnections.add(claims, connection);
    void deliverTopic(ctx.broker, topic, connection, {
      since,
      toFrame: topicEventFrame,
      onDelivered: () => deliveries.add(),
    }).catch((error) => ctx.log.warn("topic_delivery_failed", { topic, error }));
  }

  app.post("/api/topics/:topic/publish", bodyLimit(ctx.config.MAX_MESSAGE_BYTES), async (c) => {
    requireApiKey(c, ctx);
    const topic = c.req.param("topic");
    checkTopicName(topic);
    if (!topic.startsWith("app:")) {
      throw new ApiError(403, "forbidden", "Only app:* topics can be published to directly");
    }
    const body = await readJson(c, topicPublishSchema);
    try {
      const event = await ctx.broker.publish(topic, body.data, { idempotencyKey: body.id });
      ctx.metrics.increment("switchboard_publishes_total", { kind: "topics" });
      return c.json({
        offset: event.offset,
        cursor: formatCursor(event),
        duplicate: event.duplicate,
      }, 202);
    } catch (error) {
      if (error instanceof PublishError) {
        throw new ApiError(PUBLISH_ERROR_STATUS[error.code], error.code, error.message);
      }
      throw error;
    }
  });

  app.get("/api/topics/:topic/history", async (c) => {
    const claims = await requireUser(c, ctx);
    const topic = c.req.param("topic");
    checkReadAccess(topic, claims);
    const query = readQuery(c, topicHistoryQuerySchema);
    const events = await ctx.broker.history(topic, { after: query.after, limit: query.limit });
    return c.json({ events: events.map((event) => topicEventFrame(event, formatCursor(event))) });
  });

  app.get("/api/topics/:topic/events", async (c) => {
    const topic = c.req.param("topic");
    checkTopicName(topic);
    const resume = resumeRequest(c);
    const claims = await requireStreamToken(c, ctx);
    checkReadAccess(topic, claims);
    const since = await resolveResume(ctx.broker, topic, resume);
    const lease = admitConnection(c, ctx, { userId: claims.sub });
    return openWithLease(lease, () =>
      openSse({
        label: "topics",
        heartbeatMs: ctx.config.SSE_HEARTBEAT_SECONDS * 1000,
        sendQueueBytes: ctx.config.SEND_QUEUE_BYTES,
        slowConsumerMs: ctx.config.SLOW_CONSUMER_SECONDS * 1000,
        observer,
        lease,
        onOpen: (connection) => stream(connection, claims, topic, since),
      }));
  });

  app.get("/api/ws/topics/:topic", async (c) => {
    const topic = c.req.param("topic");
    checkTopicName(topic);
    requireUpgrade(c);
    const resume = resumeRequest(c);
    const claims = await requireStreamToken(c, ctx);
    checkReadAccess(topic, claims);
    const since = await resolveResume(ctx.broker, topic, resume);
    const lease = admitConnection(c, ctx, { userId: claims.sub });
    return openWithLease(lease, () =>
      acceptWebSocket(c.req.raw, {
        label: "topics",
        frames: topicClientFrames,
        ...socketLimits(ctx),
        observer,
        lease,
        onOpen: (connection) => stream(connection, claims, topic, since),
        onFrame: async (connection, frame) => {
          if (!topic.startsWith("app:") || !hasPermission(claims, "topics:publish")) {
            connection.send({
              type: "error",
              code: "forbidden",
              message: `This token cannot publish to "${topic}"`,
            });
            return;
          }
          try {
            const event = await ctx.broker.publish(topic, frame.data, { idempotencyKey: frame.id });
            ctx.metrics.increment("switchboard_publishes_total", { kind: "topics" });
            connection.send({
              type: "published",
              offset: event.offset,
              cursor: formatCursor(event),
              id: frame.id,
            });
          } catch (error) {
            if (!(error instanceof PublishError)) throw error;
            connection.send({ type: "error", code: error.code, message: error.message });
          }
        },
        onError: (error) => ctx.log.warn("topic_socket_error", { error }),
      }));
  });
  return app;
}
