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
import { refuseAfterUpgrade } from "./_ws_refusal.ts";
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
import type { Config } from "../lib/config/mod.ts";
import {
  API_KEY_ERRORS,
  cursorSchema,
  type Endpoint,
  JSON_ERRORS,
  JSON_HEADER,
  MINT_STREAM,
  serve,
  SOCKET_REFUSAL_NOTE,
  SOCKET_SWITCHING,
  socketQuerySchema,
  STREAM_ERRORS,
  streamQuerySchema,
  USER_ERRORS,
} from "./_endpoint.ts";

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
    throw new ApiError("invalid_topic", `"${topic.slice(0, 60)}" is not a topic name`);
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
  throw new ApiError("forbidden", `This token cannot read "${topic}"`);
}

const topicParams = z.object({
  topic: z.string().regex(TOPIC_PATTERN).describe("`kind:name`, e.g. `app:news` or `user:ada`."),
});

/** An event frame, as history answers it and the streams send it. */
const topicEventFrameSchema = z.object({
  type: z.literal("event"),
  topic: z.string(),
  offset: z.number().int().describe("Gapless per topic, from 1."),
  cursor: cursorSchema,
  time: z.number().describe("Milliseconds since the Unix epoch, when it was published."),
  data: z.unknown().describe("What was published."),
});

/** The answer of `POST /api/topics/:topic/publish`. */
const publishedSchema = z.object({
  offset: z.number().int(),
  cursor: cursorSchema,
  duplicate: z.boolean().describe("True when `id` was published before: this is that event."),
});

/**
 * The topic endpoints: each one's contract, which the handlers below are
 * registered with and which `/docs` and `/docs/openapi.json` show.
 */
export function topicEndpoints(
  _config: Config,
): Record<"publish" | "history" | "events" | "socket", Endpoint> {
  return {
    publish: {
      method: "POST",
      path: "/api/topics/{topic}/publish",
      tag: "Topics",
      summary: "Publish an event to an app topic",
      description: "Appends `data` to an `app:*` topic and answers with its offset and cursor. " +
        "`id` makes it idempotent: the same id again answers the first event with " +
        "`duplicate: true`. Data is at most 60 KiB.",
      auth: "api_key",
      params: topicParams,
      body: topicPublishSchema,
      notes: { data: "Any JSON value.", id: "Idempotency key." },
      responses: {
        202: { description: "`{offset, cursor, duplicate}`", body: publishedSchema },
        400: "Not a topic name or invalid body",
        401: "No or wrong API key",
        403: "Not an `app:` topic",
        413: "Data too large",
        507: "The topic is over its storage quota",
      },
      errors: [
        ...API_KEY_ERRORS,
        "invalid_topic",
        "forbidden",
        "event_too_large",
        "quota_exceeded",
        ...JSON_ERRORS,
      ],
      guides: ["protocol"],
      example:
        `curl -fsS -X POST "$BASE/api/topics/app:news/publish" -H "Authorization: Bearer $KEY" \\
  ${JSON_HEADER} -d '{"data":{"title":"Hello"},"id":"news-1"}'`,
    },
    history: {
      method: "GET",
      path: "/api/topics/{topic}/history",
      tag: "Topics",
      summary: "Read stored events",
      description: "Stored events after `after`, oldest first, as event frames. `app:*` topics " +
        "need the `topics:read` permission; `user:<id>` only its own user.",
      auth: "user_token",
      params: topicParams,
      query: topicHistoryQuerySchema,
      notes: { after: "Only events after this offset.", limit: "Most events to return." },
      responses: {
        200: {
          description: "`{events: [{type, topic, offset, cursor, time, data}]}`",
          body: z.object({ events: z.array(topicEventFrameSchema) }),
        },
        400: "Not a topic name",
        401: "No or bad token",
        403: "This token cannot read the topic",
      },
      errors: [...USER_ERRORS, "invalid_topic", "forbidden", "invalid_request", "rate_limited"],
      guides: ["protocol"],
      example:
        `curl -fsS -X POST "$BASE/api/topics/app:news/publish" -H "Authorization: Bearer $KEY" \\
  ${JSON_HEADER} -d '{"data":{"title":"Hello"}}' >/dev/null
curl -fsS "$BASE/api/topics/app:news/history?limit=10" -H "Authorization: Bearer $TOKEN"`,
    },
    events: {
      method: "GET",
      path: "/api/topics/{topic}/events",
      tag: "Topics",
      summary: "Follow a topic (SSE)",
      transport: "sse",
      description: "A Server-Sent Events stream of the topic: each event's `id:` is its cursor " +
        "and `data:` the event frame. Replays what came after `since` (or `Last-Event-ID`, which " +
        "EventSource sends by itself on reconnect), then stays live. Comment heartbeats keep " +
        "proxies from closing it.",
      auth: "stream_token",
      params: topicParams,
      query: streamQuerySchema,
      headers: { "Last-Event-ID": "The cursor to resume after (EventSource sets it)." },
      serverFrames: {
        "(message)": '`{type: "event", topic, offset, cursor, time, data}` with `id:` = cursor',
        error: "`too_far_behind` or `epoch_changed` with the `cursor` the stream continues from",
      },
      responses: {
        200: "An event stream",
        400: "Bad topic or cursor",
        401: "No or bad token",
        403: "This token cannot read the topic",
      },
      errors: [...STREAM_ERRORS, "invalid_topic", "invalid_cursor", "forbidden", "rate_limited"],
      guides: ["protocol"],
      example: `${MINT_STREAM}
# follow for two seconds, replaying from the start
timeout 2 curl -fsSN "$BASE/api/topics/app:news/events?token=$STREAM&since=0" || test $? -eq 124`,
    },
    socket: {
      method: "GET",
      path: "/api/ws/topics/{topic}",
      tag: "Topics",
      summary: "Follow and publish over a WebSocket",
      transport: "websocket",
      description: "Upgrades to a WebSocket that streams the topic like the SSE endpoint " +
        "(replay after `since`, then live). Tokens with `topics:publish` may publish to `app:*` " +
        "topics with `publish` frames. Every frame is JSON with a `type`; `ping` gets `pong`." +
        SOCKET_REFUSAL_NOTE,
      auth: "stream_token",
      params: topicParams,
      query: socketQuerySchema,
      frames: topicClientFrames,
      serverFrames: {
        event: "`{type, topic, offset, cursor, time, data}`",
        published: "`{type, offset, cursor, id}`: the answer to `publish`",
        error: "`{type, code, message}`",
        pong: "The answer to `ping`",
      },
      responses: {
        101: SOCKET_SWITCHING,
        400: "Bad topic or cursor",
        401: "No or bad token",
        403: "This token cannot read the topic",
        426: "Not a WebSocket request",
      },
      errors: [
        ...STREAM_ERRORS,
        "invalid_topic",
        "invalid_cursor",
        "forbidden",
        "upgrade_required",
        "rate_limited",
      ],
      guides: ["protocol"],
      example: `${MINT_STREAM}
ws "/api/ws/topics/app:news?token=$STREAM" '{"type":"publish","data":{"title":"From a socket"}}'`,
    },
  };
}

/**
 * The generic topic API: backends publish to `app:*` topics with the API key;
 * clients follow a topic over WebSocket or SSE and resume with a cursor.
 */
export function topicRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  const endpoints = topicEndpoints(ctx.config);
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

  serve(app, endpoints.publish, bodyLimit(ctx.config.MAX_MESSAGE_BYTES), async (c) => {
    requireApiKey(c, ctx);
    const topic = c.req.param("topic");
    checkTopicName(topic);
    if (!topic.startsWith("app:")) {
      throw new ApiError("forbidden", "Only app:* topics can be published to directly");
    }
    const body = await readJson(c, topicPublishSchema);
    // A refused publish is a PublishError: the app renders its code with the registry's status.
    const event = await ctx.broker.publish(topic, body.data, { idempotencyKey: body.id });
    ctx.metrics.increment("switchboard_publishes_total", { kind: "topics" });
    return c.json({
      offset: event.offset,
      cursor: formatCursor(event),
      duplicate: event.duplicate,
    }, 202);
  });

  serve(app, endpoints.history, async (c) => {
    const claims = await requireUser(c, ctx);
    const topic = c.req.param("topic");
    checkReadAccess(topic, claims);
    const query = readQuery(c, topicHistoryQuerySchema);
    const events = await ctx.broker.history(topic, { after: query.after, limit: query.limit });
    return c.json({ events: events.map((event) => topicEventFrame(event, formatCursor(event))) });
  });

  serve(app, endpoints.events, async (c) => {
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

  serve(
    app,
    endpoints.socket,
    refuseAfterUpgrade(async (c) => {
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
              const event = await ctx.broker.publish(topic, frame.data, {
                idempotencyKey: frame.id,
              });
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
    }),
  );
  return app;
}
