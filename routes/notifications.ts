import { type Context, Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { type ComponentType, h, type VNode } from "preact";
import { z } from "zod";
import type { AppContext } from "../lib/context.ts";
import { ApiError } from "../lib/errors/mod.ts";
import {
  ACKED_FRAME,
  historyLowerBound,
  NOTIFICATION_EXAMPLES,
  NOTIFICATION_STATUSES,
  NOTIFICATION_TYPES,
  NotificationError,
  notificationRecordSchema,
  type NotificationService,
  preferencesSchema,
  type PublishOutcome,
  toAuditEntry,
  toHistoryItem,
  userTopic,
} from "../lib/notifications/mod.ts";
import {
  pushPreferencesViewSchema,
  type PushService,
  pushSettingsSchema,
} from "../lib/push/mod.ts";
import { enforceRateLimit } from "../lib/rate_limit/mod.ts";
import {
  acceptWebSocket,
  EventIdSigner,
  type FrameSchemas,
  openSse,
} from "../lib/transport/mod.ts";
import { Layout } from "../components/Layout.tsx";
import { Island } from "../components/Island.tsx";
import { renderPage } from "../components/render_page.tsx";
import NotificationPlayground from "../islands/NotificationPlayground.tsx";
import { requireApiKey, requireStreamToken, requireUser } from "./_auth.ts";
import { refuseAfterUpgrade } from "./_ws_refusal.ts";
import { authorizeResumableStream } from "./_stream_resume.ts";
import { bodyLimit, clientAddress, readJson, readQuery } from "./_http.ts";
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

/** The body of `POST /api/notifications/publish`. */
export const notificationPublishSchema = z.object({
  userId: z.string().min(1).max(128).optional(),
  userIds: z.array(z.string().min(1).max(128)).min(1).optional(),
  type: z.string().min(1).max(100),
  data: z.unknown().default({}),
  requiresAck: z.boolean().optional(),
  id: z.string().min(1).max(128).optional(),
}).strict();

/** The body of `POST /api/notifications/demo` (a user sends themselves a notification). */
export const notificationDemoSchema = z.object({
  type: z.string().min(1).max(100),
  data: z.unknown().optional(),
  requiresAck: z.boolean().optional(),
}).strict();

/** The query of `GET /api/notifications` (history, newest first). */
export const notificationHistoryQuerySchema = z.object({
  before: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** Only newer ones: a duration (`10m`), `all`, a timestamp or a stream cursor. */
  since: z.string().min(1).max(64).optional(),
});

/** The query of `GET /api/notifications/log` (the audit log). */
export const notificationLogQuerySchema = z.object({
  userId: z.string().min(1).max(128).optional(),
  type: z.string().min(1).max(100).optional(),
  status: z.enum(NOTIFICATION_STATUSES).optional(),
  before: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** The body of `PUT /api/notifications/preferences` (`push` is kept as it is when left out). */
export const notificationPreferencesBodySchema = preferencesSchema.extend({
  push: pushSettingsSchema.optional(),
}).strict();

const ackFrame = z.object({
  type: z.literal("ack"),
  notificationId: z.string().min(1).max(128).optional(),
  /** Several at once (a client acking a burst stays under the frame rate limit). */
  notificationIds: z.array(z.string().min(1).max(128)).min(1).max(100).optional(),
}).strict().refine(
  (frame) => (frame.notificationId === undefined) !== (frame.notificationIds === undefined),
  "send either notificationId or notificationIds",
);
const readFrame = z.object({
  type: z.literal("read"),
  notificationId: z.string().min(1).max(128).optional(),
  all: z.literal(true).optional(),
}).strict().refine(
  (frame) => (frame.notificationId === undefined) !== (frame.all === undefined),
  "send either notificationId or all: true",
);

/** A frame a client may send on `GET /api/ws/notifications`. */
export type NotificationClientFrame = z.infer<typeof ackFrame> | z.infer<typeof readFrame>;

/** Frames a client may send on `GET /api/ws/notifications` (besides `ping`). */
export const notificationClientFrames: FrameSchemas<NotificationClientFrame> = {
  ack: ackFrame,
  read: readFrame,
};

const notificationParams = z.object({
  id: z.string().min(1).max(128).describe("The notification id."),
});

function publishTo(user: string, extra = ""): string {
  return `curl -fsS -X POST "$BASE/api/notifications/publish" -H "Authorization: Bearer $KEY" \\
  ${JSON_HEADER} -d '{"userId":"${user}","type":"success","data":{"message":"Hi"}${extra}}'`;
}

const NOTIFICATION_DATA = {
  field: "data",
  discriminator: "type",
  description: "Each type's `data` is checked against its schema (objects are strict). Types " +
    "named in `NOTIFY_EXTRA_TYPES` take any JSON object.",
  schemas: NOTIFICATION_TYPES,
};

/** The answer of publishing: one result per recipient. */
const publishedSchema = z.object({
  ids: z.array(z.string()).describe("The notification id of each recipient, in order."),
  results: z.array(z.object({
    userId: z.string(),
    id: z.string(),
    duplicate: z.boolean().describe("This id was published to the user before."),
    muted: z.boolean().describe("Stored in history but not pushed: the user muted it."),
    rateLimited: z.object({ retryAfterSeconds: z.number().int() }).optional().describe(
      "Nothing was stored for this user: over `NOTIFY_USER_PER_MINUTE`.",
    ),
  })),
});

/** The server-rendered text of a notification (seed texts, e.g. "Ada uploaded a.pdf"). */
const renderedMessage = z.string().describe(
  "The notification as one human-readable line, rendered by the server from its type and data.",
);

/** One notification of a user's history. */
const historyItemSchema = notificationRecordSchema.pick({
  id: true,
  type: true,
  timestamp: true,
  requiresAck: true,
  data: true,
  read: true,
  readAt: true,
  acknowledged: true,
}).extend({ muted: z.boolean(), message: renderedMessage });

/** One entry of the audit log. */
const auditEntrySchema = notificationRecordSchema.pick({
  id: true,
  userId: true,
  type: true,
  timestamp: true,
  requiresAck: true,
  status: true,
  sentAt: true,
  deliveredAt: true,
  acknowledged: true,
  acknowledgedAt: true,
  retryCount: true,
  lastRetryAt: true,
  read: true,
  readAt: true,
  data: true,
}).extend({ message: renderedMessage });

/** A user's preferences as the preferences endpoints answer them, Web Push settings included. */
const preferencesViewSchema = preferencesSchema.extend({ push: pushPreferencesViewSchema });

const unreadCount = z.number().int().describe("Unread notifications of the user.");
const nextBefore = z.string().nullable().describe(
  "The `before` of the next page; null at the end.",
);

/** The query of the SSE stream: the stream query and `events` (read by the route itself). */
const notificationStreamQuerySchema = streamQuerySchema.extend({
  events: z.enum(["unnamed", "named"]).optional().describe(
    "`unnamed` (default): notifications are unnamed events for `onmessage`; `named`: each is " +
      "named after its type, as before.",
  ),
});

/**
 * The notification endpoints: each one's contract, which the handlers below are
 * registered with and which `/docs` and `/docs/openapi.json` show.
 */
export function notificationEndpoints(
  _config: Config,
): Record<
  | "publish"
  | "demo"
  | "types"
  | "stream"
  | "socket"
  | "history"
  | "unreadCount"
  | "readAll"
  | "read"
  | "ack"
  | "preferences"
  | "setPreferences"
  | "log",
  Endpoint
> {
  return {
    publish: {
      method: "POST",
      path: "/api/notifications/publish",
      tag: "Notifications",
      summary: "Publish a notification",
      description: "Stores the notification for each user and sends it to every connected tab " +
        "and device. `data` is validated against the type's schema (see `GET " +
        "/api/notifications/types`). `requiresAck` re-sends it until a client acks; `id` makes " +
        "publishing idempotent per user.",
      auth: "api_key",
      body: notificationPublishSchema,
      variants: NOTIFICATION_DATA,
      notes: {
        userId: "One recipient.",
        userIds: "Several recipients (at most `NOTIFY_MAX_RECIPIENTS`).",
        type: "A registered type.",
        data: "The type's data (at most `NOTIFY_MAX_DATA_BYTES` of JSON).",
        requiresAck: "Re-send until acknowledged.",
        id: "Idempotency key.",
      },
      responses: {
        202: {
          description: "`{ids, results: [{userId, id, duplicate, muted}]}`",
          body: publishedSchema,
        },
        400: "Invalid recipients, type or data",
        401: "No or wrong API key",
        413: "Data too large",
        429: "A recipient or this publisher is over its limit",
      },
      errors: [
        ...API_KEY_ERRORS,
        "missing_user",
        "invalid_user",
        "too_many_recipients",
        "unknown_type",
        "invalid_data",
        "data_too_large",
        "rate_limited",
        ...JSON_ERRORS,
      ],
      guides: ["notifications"],
      example:
        `curl -fsS -X POST "$BASE/api/notifications/publish" -H "Authorization: Bearer $KEY" \\
  ${JSON_HEADER} \\
  -d '{"userId":"ada","type":"success","data":{"message":"Build finished"},"requiresAck":true}'`,
    },
    demo: {
      method: "POST",
      path: "/api/notifications/demo",
      tag: "Notifications",
      summary: "Send yourself a notification",
      description: "For trying types from a browser without the API key: the only recipient is " +
        "the caller. Without `data`, the type's example data is used. At most 30 a minute.",
      auth: "user_token",
      body: notificationDemoSchema,
      variants: NOTIFICATION_DATA,
      responses: {
        202: { description: "`{ids, results}`", body: publishedSchema },
        400: "Unknown type or invalid data",
        401: "No or bad token",
        429: "Too many",
      },
      errors: [
        ...USER_ERRORS,
        "unknown_type",
        "invalid_data",
        "data_too_large",
        "rate_limited",
        ...JSON_ERRORS,
      ],
      guides: ["notifications"],
      example:
        `curl -fsS -X POST "$BASE/api/notifications/demo" -H "Authorization: Bearer $TOKEN" \\
  ${JSON_HEADER} -d '{"type":"file_uploaded"}'`,
    },
    types: {
      method: "GET",
      path: "/api/notifications/types",
      tag: "Notifications",
      summary: "List notification types",
      description: "Every registered type with example data that validates.",
      auth: "none",
      responses: {
        200: {
          description: "`{types: [{type, example}]}`",
          body: z.object({
            types: z.array(z.object({ type: z.string(), example: z.unknown() })),
          }),
        },
      },
      errors: ["rate_limited"],
      guides: ["notifications"],
      example: `curl -fsS "$BASE/api/notifications/types" | jq -r '.types[].type'`,
    },
    stream: {
      method: "GET",
      path: "/api/notifications/stream",
      tag: "Notifications",
      summary: "Follow a user's notifications (SSE)",
      transport: "sse",
      description: "Every notification of the token's user as it is published, as an " +
        "**unnamed** event (so `EventSource.onmessage` gets it): `data:` is the notification " +
        "JSON, whose `type` says which and whose `message` is its server-rendered text line, and `id:` its signed resume id `<cursor>.<sent>.<mac>`. " +
        "Control events keep their names (`notification.ready`, `notification.read`, `error`) " +
        "and never reach `onmessage`. `?events=named` names each notification after its type " +
        "instead (type `error` as `notification.error`). Unacked ones that require an ack are " +
        "delivered again on connect. Resume: EventSource's own reconnect (same URL, its " +
        "single-use token spent by then) sends the last id as `Last-Event-ID`; an id signed for " +
        "the token's user less than 24 h ago resumes right after it without a new token (the " +
        "token's signature must hold and its user must not be revoked; its expiry and single " +
        "use are not checked). A spent token without such an id still gets 401. `?since=` with " +
        "a fresh token resumes too and wins over the header.",
      auth: "stream_token",
      query: notificationStreamQuerySchema,
      headers: {
        "Last-Event-ID": "The last signed event id (EventSource sends it when it reconnects): " +
          "resumes after it, and with a spent or expired stream token of the same user.",
      },
      serverFrames: {
        "(message)": "A notification `{id, type, timestamp, requiresAck, data, message, cursor}` " +
          "(unnamed; with `?events=named` the event is named after its `type`)",
        "notification.ready": "First event: the stream is live; its id is where it starts, or " +
          "the resume point of a resumed stream",
        "notification.read": "`{ids, all, unreadCount, cursor}`: read on some device",
        error: "`too_far_behind` / `epoch_changed` with the `cursor` the stream continues from",
      },
      responses: {
        200: "An event stream",
        400: "Bad cursor or `events`",
        401: "No or bad token, and no signed `Last-Event-ID` of its user",
      },
      errors: [...STREAM_ERRORS, "invalid_cursor", "invalid_request", "rate_limited"],
      guides: ["notifications", "protocol"],
      example: `${MINT_STREAM}
timeout 2 curl -fsSN "$BASE/api/notifications/stream?token=$STREAM" || test $? -eq 124`,
    },
    socket: {
      method: "GET",
      path: "/api/ws/notifications",
      tag: "Notifications",
      summary: "Follow a user's notifications (WebSocket)",
      transport: "websocket",
      description: "The same notifications as the SSE stream, plus acks and read marks from the " +
        "client. A notification with `requiresAck` is re-sent every `NOTIFY_RETRY_INTERVAL_MS` " +
        "up to `NOTIFY_MAX_RETRIES` times until acked, then marked `failed`. Also served at " +
        "`/ws/notifications` (the WebSocket notification design's path), with the token in " +
        "`?token=`, `Authorization: Bearer` or the subprotocol." + SOCKET_REFUSAL_NOTE,
      auth: "stream_token",
      query: socketQuerySchema,
      frames: notificationClientFrames,
      serverFrames: {
        "<type>": "`{id, type, timestamp, requiresAck, data, message, cursor}`",
        "notification.ready":
          "First frame: the stream is live; without since, its cursor is where it starts",
        "notification.read": "`{ids, all, unreadCount, cursor}`",
        "notification.acked": "`{notificationId, acknowledgedAt}`: the answer to `ack`",
        error: "`{code, message}`",
        pong: "The answer to `ping`",
      },
      responses: {
        101: SOCKET_SWITCHING,
        400: "Bad cursor",
        401: "No or bad token",
        426: "Not a WebSocket request",
      },
      errors: [...STREAM_ERRORS, "invalid_cursor", "upgrade_required", "rate_limited"],
      guides: ["notifications", "protocol"],
      example: `${MINT_STREAM}
ws "/api/ws/notifications?token=$STREAM" '{"type":"ping"}'`,
    },
    history: {
      method: "GET",
      path: "/api/notifications",
      tag: "Notifications",
      summary: "Notification history",
      description: "The user's notifications, newest first, with read state; page with " +
        "`before=<nextBefore>`.",
      auth: "user_token",
      query: notificationHistoryQuerySchema,
      notes: {
        before: "The `nextBefore` of the previous page.",
        limit: "Page size.",
        since: "Only newer ones: `10m`, `2h`, `all`, a time (ISO 8601 or Unix seconds) or a " +
          "stream cursor.",
      },
      responses: {
        200: {
          description:
            "`{notifications: [{id, type, timestamp, requiresAck, data, message, read, " +
            "readAt, acknowledged, muted}], nextBefore, unreadCount}`",
          body: z.object({ notifications: z.array(historyItemSchema), nextBefore, unreadCount }),
        },
        400: "Invalid query or cursor",
        401: "No or bad token",
      },
      errors: [...USER_ERRORS, "invalid_request", "invalid_cursor", "rate_limited"],
      guides: ["notifications"],
      example: `curl -fsS "$BASE/api/notifications?limit=5" -H "Authorization: Bearer $TOKEN"`,
    },
    unreadCount: {
      method: "GET",
      path: "/api/notifications/unread-count",
      tag: "Notifications",
      summary: "Unread count",
      description: "How many of the user's notifications are unread.",
      auth: "user_token",
      responses: {
        200: { description: "`{unreadCount}`", body: z.object({ unreadCount }) },
        401: "No or bad token",
      },
      errors: [...USER_ERRORS, "rate_limited"],
      guides: ["notifications"],
      example: `curl -fsS "$BASE/api/notifications/unread-count" -H "Authorization: Bearer $TOKEN"`,
    },
    readAll: {
      method: "POST",
      path: "/api/notifications/read-all",
      tag: "Notifications",
      summary: "Mark all as read",
      description: "Marks every notification of the user read; every connected device gets " +
        "`notification.read`.",
      auth: "user_token",
      responses: {
        200: {
          description: "`{ids, unreadCount}`",
          body: z.object({ ids: z.array(z.string()), unreadCount }),
        },
        401: "No or bad token",
      },
      errors: [...USER_ERRORS, "rate_limited"],
      guides: ["notifications"],
      example:
        `curl -fsS -X POST "$BASE/api/notifications/read-all" -H "Authorization: Bearer $TOKEN"`,
    },
    read: {
      method: "POST",
      path: "/api/notifications/{id}/read",
      tag: "Notifications",
      summary: "Mark one as read",
      description: "Marks one notification read on every device of the user.",
      auth: "user_token",
      params: notificationParams,
      responses: {
        200: {
          description: "`{id, read: true, unreadCount}`",
          body: z.object({ id: z.string(), read: z.literal(true), unreadCount }),
        },
        401: "No or bad token",
        404: "Not this user's notification",
      },
      errors: [...USER_ERRORS, "notification_not_found", "rate_limited"],
      guides: ["notifications"],
      example: `ID=$(${publishTo("ada")} | jq -r '.ids[0]')
curl -fsS -X POST "$BASE/api/notifications/$ID/read" -H "Authorization: Bearer $TOKEN"`,
    },
    ack: {
      method: "POST",
      path: "/api/notifications/{id}/ack",
      tag: "Notifications",
      summary: "Acknowledge one",
      description: "Acknowledges a notification over HTTP (the same as an `ack` frame): it is " +
        "not re-sent any more and the audit log records when.",
      auth: "user_token",
      params: notificationParams,
      responses: {
        200: {
          description: "`{id, status, acknowledgedAt}`",
          body: auditEntrySchema.pick({ id: true, status: true, acknowledgedAt: true }),
        },
        401: "No or bad token",
        404: "Not this user's notification",
      },
      errors: [...USER_ERRORS, "notification_not_found", "rate_limited"],
      guides: ["notifications"],
      example: `ID=$(${publishTo("ada", ',"requiresAck":true')} | jq -r '.ids[0]')
curl -fsS -X POST "$BASE/api/notifications/$ID/ack" -H "Authorization: Bearer $TOKEN"`,
    },
    preferences: {
      method: "GET",
      path: "/api/notifications/preferences",
      tag: "Notifications",
      summary: "Read preferences",
      description: "The types and groups the user muted: muted notifications are stored in " +
        "history but not pushed. `push`: when Web Push reaches the user's devices " +
        "(`when`: `away`, `always` or `never`; `types` overrides it per type) and the " +
        "subscribed devices.",
      auth: "user_token",
      responses: {
        200: {
          description: "`{muted, mutedGroups, push: {when, types, subscriptions}}`",
          body: preferencesViewSchema,
        },
        401: "No or bad token",
      },
      errors: [...USER_ERRORS, "rate_limited"],
      guides: ["notifications"],
      example: `curl -fsS "$BASE/api/notifications/preferences" -H "Authorization: Bearer $TOKEN"`,
    },
    setPreferences: {
      method: "PUT",
      path: "/api/notifications/preferences",
      tag: "Notifications",
      summary: "Set preferences",
      description: "Replaces the user's muted types and groups (`data.groupId`), and the Web " +
        "Push settings when `push` is given (left out: kept as they are).",
      auth: "user_token",
      body: notificationPreferencesBodySchema,
      notes: {
        muted: "Types to mute.",
        mutedGroups: "Group ids to mute.",
        push: "`{when: away|always|never, types: {<type>: when}}`.",
      },
      responses: {
        200: { description: "`{muted, mutedGroups, push}`", body: preferencesViewSchema },
        400: "Invalid body",
        401: "No or bad token",
      },
      errors: [...USER_ERRORS, "unknown_type", ...JSON_ERRORS, "rate_limited"],
      guides: ["notifications"],
      example:
        `curl -fsS -X PUT "$BASE/api/notifications/preferences" -H "Authorization: Bearer $TOKEN" \\
  ${JSON_HEADER} -d '{"muted":["campaign_created"],"mutedGroups":[]}'`,
    },
    log: {
      method: "GET",
      path: "/api/notifications/log",
      tag: "Notifications",
      summary: "Audit log",
      description: "Per notification: when it was sent, delivered and acknowledged, retries and " +
        "status, newest first; filter by user, type and status.",
      auth: "api_key",
      query: notificationLogQuerySchema,
      notes: { before: "The `nextBefore` of the previous page.", limit: "Page size." },
      responses: {
        200: {
          description: "`{entries: [{id, userId, type, timestamp, requiresAck, status, sentAt, " +
            "deliveredAt, acknowledged, acknowledgedAt, retryCount, lastRetryAt, read, readAt, data, " +
            "message}], " +
            "nextBefore}`",
          body: z.object({ entries: z.array(auditEntrySchema), nextBefore }),
        },
        400: "Invalid query",
        401: "No or wrong API key",
      },
      errors: [...API_KEY_ERRORS, "invalid_request", "invalid_cursor"],
      guides: ["notifications"],
      example:
        `curl -fsS "$BASE/api/notifications/log?userId=ada&limit=5" -H "Authorization: Bearer $KEY"`,
    },
  };
}

/**
 * Notifications (docs/notifications.md): publish with the API key, SSE and WebSocket streams
 * of a user's topic, history, read state, acks, preferences, the audit log, and
 * the `/notifications` page.
 */
export function notificationRoutes(
  ctx: AppContext,
  notifications: NotificationService,
  pushService: PushService,
): Hono {
  const app = new Hono();
  const endpoints = notificationEndpoints(ctx.config);
  const { center } = notifications;
  const observer = transportObserver(ctx);
  const config = ctx.config;

  // Browsers on other sites (the embedded bell) call the user-token endpoints.
  const corsOrigins = config.NOTIFY_CORS_ORIGINS;
  if (!corsOrigins.includes("off")) {
    const allowCors = cors({
      origin: corsOrigins.includes("*") ? "*" : corsOrigins,
      allowMethods: ["GET", "POST", "PUT"],
      allowHeaders: ["Authorization", "Content-Type", "Last-Event-ID"],
      maxAge: 600,
    });
    const backendOnly = new Set(["/api/notifications/publish", "/api/notifications/log"]);
    const userEndpoints: MiddlewareHandler = (c, next) =>
      backendOnly.has(c.req.path) ? next() : allowCors(c, next);
    app.use("/api/notifications", userEndpoints);
    app.use("/api/notifications/*", userEndpoints);
  }
  app.route("/", embedRoutes(ctx));

  /**
   * The answer to a publish: 202 with one result per recipient; 429 when every
   * recipient was over `NOTIFY_USER_PER_MINUTE` (nothing was stored). In a
   * publish to several users, those over their limit get `rateLimited` in their
   * result and the others get the notification.
   */
  function publishResponse(c: Context, outcomes: PublishOutcome[]): Response {
    const limited = outcomes.filter((outcome) => outcome.rateLimited);
    if (limited.length > 0 && limited.length === outcomes.length) {
      const retryAfter = Math.max(
        ...limited.map((outcome) => outcome.rateLimited!.retryAfterSeconds),
      );
      throw new ApiError(
        "rate_limited",
        `${
          limited.length === 1
            ? `User "${limited[0]!.userId}" already got`
            : "Every recipient already got"
        } ${config.NOTIFY_USER_PER_MINUTE} notifications this minute; try again in ${retryAfter} s`,
        { headers: { "Retry-After": String(retryAfter) } },
      );
    }
    return c.json({ ids: outcomes.map((outcome) => outcome.id), results: outcomes }, 202);
  }

  // Room for the data, every recipient's id and the rest of the JSON.
  const publishBodyLimit = bodyLimit(
    config.NOTIFY_MAX_DATA_BYTES + config.NOTIFY_MAX_RECIPIENTS * 80 + 4096,
  );
  serve(app, endpoints.publish, publishBodyLimit, async (c) => {
    requireApiKey(c, ctx);
    const body = await readJson(c, notificationPublishSchema);
    const userIds = [...(body.userId ? [body.userId] : []), ...(body.userIds ?? [])];
    if (userIds.length === 0) {
      throw new ApiError("missing_user", "userId or userIds is required");
    }
    const request = {
      userIds,
      type: body.type,
      data: body.data,
      requiresAck: body.requiresAck,
      id: body.id,
    };
    center.validate(request);
    await enforceRateLimit(ctx.rateLimiter, "notify_publisher", clientAddress(c), {
      limit: config.NOTIFY_PUBLISHER_PER_MINUTE,
      windowMs: 60_000,
    });
    return publishResponse(c, await center.publish(request));
  });

  const demoBodyLimit = bodyLimit(config.NOTIFY_MAX_DATA_BYTES + 1024);
  serve(app, endpoints.demo, demoBodyLimit, async (c) => {
    const claims = await requireUser(c, ctx);
    const body = await readJson(c, notificationDemoSchema);
    const request = {
      userIds: [claims.sub],
      type: body.type,
      data: body.data ?? NOTIFICATION_EXAMPLES[body.type] ?? {},
      requiresAck: body.requiresAck,
    };
    center.validate(request);
    await enforceRateLimit(ctx.rateLimiter, "notify_demo", claims.sub, {
      limit: 30,
      windowMs: 60_000,
    });
    return publishResponse(c, await center.publish(request));
  });

  serve(app, endpoints.types, (c) =>
    c.json({
      types: center.types.names.map((type) => ({
        type,
        example: NOTIFICATION_EXAMPLES[type] ?? null,
      })),
    }));

  // Event ids are signed for their user, so EventSource's own reconnect (same URL, spent
  // token, `Last-Event-ID`) resumes: see routes/_stream_resume.ts.
  const eventIds = new EventIdSigner(ctx.secrets.secret);
  serve(app, endpoints.stream, async (c) => {
    const events = c.req.query("events") ?? "unnamed";
    if (events !== "named" && events !== "unnamed") {
      throw new ApiError("invalid_request", 'events is "named" or "unnamed" (the default)');
    }
    const { claims, since: resume } = await authorizeResumableStream(c, ctx, eventIds);
    const since = await resolveResume(ctx.broker, userTopic(claims.sub), resume);
    const lease = admitConnection(c, ctx, { userId: claims.sub });
    return openWithLease(lease, () =>
      openSse({
        label: "notifications",
        heartbeatMs: config.SSE_HEARTBEAT_SECONDS * 1000,
        sendQueueBytes: config.SEND_QUEUE_BYTES,
        observer,
        lease,
        eventId: (cursor) => eventIds.sign(claims.sub, cursor),
        onOpen: (connection) => {
          ctx.userConnections.add(claims, connection);
          const namedEvents = events === "named";
          center.stream(connection, claims.sub, since, { namedEvents }).catch((error) =>
            ctx.log.warn("notification_stream_failed", { error })
          );
        },
      }));
  });

  // Also at `/ws/notifications`, the path of the WebSocket notification design clients use.
  const notificationSocket = refuseAfterUpgrade(async (c) => {
    requireUpgrade(c);
    const resume = resumeRequest(c);
    const claims = await requireStreamToken(c, ctx);
    const userId = claims.sub;
    const since = await resolveResume(ctx.broker, userTopic(userId), resume);
    const lease = admitConnection(c, ctx, { userId });
    return openWithLease(lease, () =>
      acceptWebSocket(c.req.raw, {
        label: "notifications",
        frames: notificationClientFrames,
        ...socketLimits(ctx),
        observer,
        lease,
        onOpen: (connection) => {
          ctx.userConnections.add(claims, connection);
          center.stream(connection, userId, since).catch((error) =>
            ctx.log.warn("notification_stream_failed", { error })
          );
        },
        onFrame: async (connection, frame) => {
          try {
            if (frame.type === "ack") {
              const ids = frame.notificationIds ?? [frame.notificationId!];
              for (const id of ids) {
                try {
                  const record = await center.acknowledge(userId, id);
                  connection.send({
                    type: ACKED_FRAME,
                    notificationId: record.id,
                    acknowledgedAt: record.acknowledgedAt,
                  });
                } catch (error) {
                  if (!(error instanceof NotificationError)) throw error;
                  connection.send({ type: "error", code: error.code, message: error.message });
                }
              }
            } else {
              await center.markRead(userId, frame.all ? "all" : [frame.notificationId!]);
            }
          } catch (error) {
            if (!(error instanceof NotificationError)) throw error;
            connection.send({ type: "error", code: error.code, message: error.message });
          }
        },
        onError: (error) => ctx.log.warn("notification_socket_error", { error }),
      }));
  });
  serve(app, endpoints.socket, notificationSocket);
  app.get("/ws/notifications", notificationSocket);

  serve(app, endpoints.history, async (c) => {
    const claims = await requireUser(c, ctx);
    const query = readQuery(c, notificationHistoryQuerySchema);
    const afterSeq = query.since === undefined
      ? undefined
      : await historyLowerBound(ctx.broker, claims.sub, query.since);
    const [page, unreadCount] = await Promise.all([
      center.store.history(claims.sub, { before: query.before, limit: query.limit, afterSeq }),
      center.store.unreadCount(claims.sub),
    ]);
    return c.json({
      notifications: page.items.map(toHistoryItem),
      nextBefore: page.nextBefore,
      unreadCount,
    });
  });

  serve(app, endpoints.unreadCount, async (c) => {
    const claims = await requireUser(c, ctx);
    return c.json({ unreadCount: await center.store.unreadCount(claims.sub) });
  });

  serve(app, endpoints.readAll, async (c) => {
    const claims = await requireUser(c, ctx);
    const result = await center.markRead(claims.sub, "all");
    return c.json({ ids: result.ids, unreadCount: result.unreadCount });
  });

  async function requireOwnNotification(c: Context, userId: string) {
    const id = c.req.param("id") ?? "";
    const record = await center.store.get(userId, id);
    if (!record) {
      throw new ApiError("notification_not_found", `No notification "${id.slice(0, 128)}"`);
    }
    return record;
  }

  serve(app, endpoints.read, async (c) => {
    const claims = await requireUser(c, ctx);
    const record = await requireOwnNotification(c, claims.sub);
    const result = await center.markRead(claims.sub, [record.id]);
    return c.json({ id: record.id, read: true, unreadCount: result.unreadCount });
  });

  serve(app, endpoints.ack, async (c) => {
    const claims = await requireUser(c, ctx);
    const record = await requireOwnNotification(c, claims.sub);
    const acked = await center.acknowledge(claims.sub, record.id);
    return c.json({ id: acked.id, status: acked.status, acknowledgedAt: acked.acknowledgedAt });
  });

  serve(app, endpoints.preferences, async (c) => {
    const claims = await requireUser(c, ctx);
    const [preferences, push] = await Promise.all([
      center.preferences(claims.sub),
      pushService.preferences(claims.sub),
    ]);
    return c.json({ ...preferences, push });
  });

  serve(app, endpoints.setPreferences, async (c) => {
    const claims = await requireUser(c, ctx);
    const { push, ...body } = await readJson(c, notificationPreferencesBodySchema);
    const unknownType = Object.keys(push?.types ?? {}).find((type) => !center.types.has(type));
    if (unknownType !== undefined) {
      throw new ApiError("unknown_type", `Unknown notification type: ${unknownType}`);
    }
    const preferences = await center.setPreferences(claims.sub, body);
    const pushed = push
      ? await pushService.setPreferences(claims.sub, push)
      : await pushService.preferences(claims.sub);
    return c.json({ ...preferences, push: pushed });
  });

  serve(app, endpoints.log, async (c) => {
    requireApiKey(c, ctx);
    const query = readQuery(c, notificationLogQuerySchema);
    const page = await center.log(query);
    return c.json({ entries: page.entries.map(toAuditEntry), nextBefore: page.nextBefore });
  });

  app.get("/notifications", (c) =>
    c.html(renderPage({
      title: "Notifications · Switchboard",
      manifest: ctx.manifest,
      description: "Switchboard notifications: a bell, history and a publish form to try them.",
      body: playgroundPage({ types: center.types.names, examples: NOTIFICATION_EXAMPLES }),
    })));

  return app;
}

type PlaygroundProps = Parameters<typeof NotificationPlayground>[0];

/** The `/notifications` page (written with `h`, as this route module is plain TypeScript). */
function playgroundPage(props: PlaygroundProps): VNode {
  const island = h(
    Island as unknown as ComponentType<
      { name: string; component: ComponentType<PlaygroundProps>; props: PlaygroundProps }
    >,
    { name: "NotificationPlayground", component: NotificationPlayground, props },
  );
  const intro = h(
    "section",
    { class: "notify-intro" },
    h("h1", null, "Notifications"),
    h(
      "p",
      { class: "lead" },
      "Every tab and device of a user gets each notification over WebSocket or SSE, with acks, " +
        "re-sends, read state and history. You have a guest identity on this page: send yourself " +
        "any type and watch the bell. Open a second tab: reading in one clears the other.",
    ),
  );
  return h(Layout, { current: "/notifications", bell: false, children: [intro, island] }) as VNode;
}

const ISLANDS_DIR = new URL("../_build/islands/", import.meta.url);
const STYLES_FILE = new URL("../static/styles.css", import.meta.url);

/**
 * The bell for other sites: `/embed/notification-bell.js` (a small loader that
 * adds the bell's stylesheet and loads the island bundle), its CSS, and the
 * island bundle files, all with CORS so another origin may load them as modules.
 */
function embedRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  const shared = {
    "Access-Control-Allow-Origin": "*",
    "X-Content-Type-Options": "nosniff",
  };
  let css: Promise<string> | null = null;
  app.get("/embed/notification-bell.js", (c) => {
    const bundle = ctx.manifest.islands.NotificationBell?.split("/").pop();
    if (!bundle) throw new ApiError("not_found", "The bell is not built");
    const loader =
      `// Switchboard notification bell: see /docs (docs/notifications.md, "Embedding").
const here = import.meta.url;
if (!document.querySelector("link[data-switchboard-bell]")) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.crossOrigin = "anonymous";
  link.href = new URL("notification-bell.css", here).href;
  link.dataset.switchboardBell = "";
  document.head.append(link);
}
await import(new URL(${JSON.stringify(`islands/${bundle}`)}, here).href);
`;
    return c.body(loader, 200, {
      ...shared,
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "no-cache",
    });
  });
  app.get("/embed/notification-bell.css", async (c) => {
    css ??= Deno.readTextFile(STYLES_FILE).then((text) => {
      const start = text.indexOf("/* notifications:begin");
      const end = text.indexOf("/* notifications:end */");
      return start >= 0 && end > start ? text.slice(start, end) : "";
    });
    return c.body(await css, 200, {
      ...shared,
      "Content-Type": "text/css; charset=utf-8",
      "Cache-Control": "public, max-age=3600",
    });
  });
  const files = new Set(ctx.manifest.files);
  app.get("/embed/islands/:file", async (c, next) => {
    const file = c.req.param("file");
    if (!files.has(file)) return next();
    const bytes = await Deno.readFile(new URL(file, ISLANDS_DIR)).catch(() => null);
    if (!bytes) return next();
    return c.body(bytes, 200, {
      ...shared,
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "public, max-age=31536000, immutable",
    });
  });
  return app;
}
