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
  NotificationError,
  type NotificationService,
  preferencesSchema,
  type PublishOutcome,
  toAuditEntry,
  toHistoryItem,
  userTopic,
} from "../lib/notifications/mod.ts";
import { enforceRateLimit } from "../lib/rate_limit/mod.ts";
import { acceptWebSocket, type FrameSchemas, openSse } from "../lib/transport/mod.ts";
import { Layout } from "../components/Layout.tsx";
import { Island } from "../components/Island.tsx";
import { renderPage } from "../components/render_page.tsx";
import NotificationPlayground from "../islands/NotificationPlayground.tsx";
import { requireApiKey, requireStreamToken, requireUser } from "./_auth.ts";
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

/** The body of `PUT /api/notifications/preferences`. */
export const notificationPreferencesBodySchema = preferencesSchema.strict();

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

const STATUS_BY_CODE: Record<NotificationError["code"], number> = {
  unknown_type: 400,
  invalid_data: 400,
  invalid_user: 400,
  too_many_recipients: 400,
  invalid_cursor: 400,
  data_too_large: 413,
  notification_not_found: 404,
};

/** An API error that also lists zod-style issues in its body. */
class IssuesError extends ApiError {
  readonly issues: { path: string; message: string }[];
  constructor(status: number, code: string, message: string, issues: IssuesError["issues"]) {
    super(status, code, message);
    this.issues = issues;
  }
  override toJSON(): { error: { code: string; message: string } } {
    const body = super.toJSON();
    return { error: { ...body.error, ...(this.issues.length ? { issues: this.issues } : {}) } };
  }
}

/** A `NotificationError` as the API error it answers with (with its zod issues); others unchanged. */
export function toApiError(error: unknown): unknown {
  if (!(error instanceof NotificationError)) return error;
  return new IssuesError(STATUS_BY_CODE[error.code], error.code, error.message, error.issues);
}

async function translate<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toApiError(error);
  }
}

/**
 * Notifications (docs/notifications.md): publish with the API key, SSE and WebSocket streams
 * of a user's topic, history, read state, acks, preferences, the audit log, and
 * the `/notifications` page.
 */
export function notificationRoutes(ctx: AppContext, notifications: NotificationService): Hono {
  const app = new Hono();
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
        429,
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
  app.post("/api/notifications/publish", publishBodyLimit, async (c) => {
    requireApiKey(c, ctx);
    const body = await readJson(c, notificationPublishSchema);
    const userIds = [...(body.userId ? [body.userId] : []), ...(body.userIds ?? [])];
    if (userIds.length === 0) {
      throw new ApiError(400, "missing_user", "userId or userIds is required");
    }
    const request = {
      userIds,
      type: body.type,
      data: body.data,
      requiresAck: body.requiresAck,
      id: body.id,
    };
    await translate(() => Promise.resolve(center.validate(request)));
    await enforceRateLimit(ctx.rateLimiter, "notify_publisher", clientAddress(c), {
      limit: config.NOTIFY_PUBLISHER_PER_MINUTE,
      windowMs: 60_000,
    });
    return publishResponse(c, await translate(() => center.publish(request)));
  });

  const demoBodyLimit = bodyLimit(config.NOTIFY_MAX_DATA_BYTES + 1024);
  app.post("/api/notifications/demo", demoBodyLimit, async (c) => {
    const claims = await requireUser(c, ctx);
    const body = await readJson(c, notificationDemoSchema);
    const request = {
      userIds: [claims.sub],
      type: body.type,
      data: body.data ?? NOTIFICATION_EXAMPLES[body.type] ?? {},
      requiresAck: body.requiresAck,
    };
    await translate(() => Promise.resolve(center.validate(request)));
    await enforceRateLimit(ctx.rateLimiter, "notify_demo", claims.sub, {
      limit: 30,
      windowMs: 60_000,
    });
    return publishResponse(c, await translate(() => center.publish(request)));
  });

  app.get("/api/notifications/types", (c) =>
    c.json({
      types: center.types.names.map((type) => ({
        type,
        example: NOTIFICATION_EXAMPLES[type] ?? null,
      })),
    }));

  app.get("/api/notifications/stream", async (c) => {
    const resume = resumeRequest(c);
    const claims = await requireStreamToken(c, ctx);
    const since = await resolveResume(ctx.broker, userTopic(claims.sub), resume);
    const lease = admitConnection(c, ctx, { userId: claims.sub });
    return openWithLease(lease, () =>
      openSse({
        label: "notifications",
        heartbeatMs: config.SSE_HEARTBEAT_SECONDS * 1000,
        sendQueueBytes: config.SEND_QUEUE_BYTES,
        observer,
        lease,
        onOpen: (connection) => {
          ctx.userConnections.add(claims, connection);
          center.stream(connection, claims.sub, since).catch((error) =>
            ctx.log.warn("notification_stream_failed", { error })
          );
        },
      }));
  });

  app.get("/api/ws/notifications", async (c) => {
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

  app.get("/api/notifications", async (c) => {
    const claims = await requireUser(c, ctx);
    const query = readQuery(c, notificationHistoryQuerySchema);
    const afterSeq = query.since === undefined
      ? undefined
      : await translate(() => historyLowerBound(ctx.broker, claims.sub, query.since!));
    const [page, unreadCount] = await translate(() =>
      Promise.all([
        center.store.history(claims.sub, { before: query.before, limit: query.limit, afterSeq }),
        center.store.unreadCount(claims.sub),
      ])
    );
    return c.json({
      notifications: page.items.map(toHistoryItem),
      nextBefore: page.nextBefore,
      unreadCount,
    });
  });

  app.get("/api/notifications/unread-count", async (c) => {
    const claims = await requireUser(c, ctx);
    return c.json({ unreadCount: await center.store.unreadCount(claims.sub) });
  });

  app.post("/api/notifications/read-all", async (c) => {
    const claims = await requireUser(c, ctx);
    const result = await center.markRead(claims.sub, "all");
    return c.json({ ids: result.ids, unreadCount: result.unreadCount });
  });

  async function requireOwnNotification(c: Context, userId: string) {
    const id = c.req.param("id") ?? "";
    const record = await center.store.get(userId, id);
    if (!record) {
      throw new ApiError(404, "notification_not_found", `No notification "${id.slice(0, 128)}"`);
    }
    return record;
  }

  app.post("/api/notifications/:id/read", async (c) => {
    const claims = await requireUser(c, ctx);
    const record = await requireOwnNotification(c, claims.sub);
    const result = await center.markRead(claims.sub, [record.id]);
    return c.json({ id: record.id, read: true, unreadCount: result.unreadCount });
  });

  app.post("/api/notifications/:id/ack", async (c) => {
    const claims = await requireUser(c, ctx);
    const record = await requireOwnNotification(c, claims.sub);
    const acked = await translate(() => center.acknowledge(claims.sub, record.id));
    return c.json({ id: acked.id, status: acked.status, acknowledgedAt: acked.acknowledgedAt });
  });

  app.get("/api/notifications/preferences", async (c) => {
    const claims = await requireUser(c, ctx);
    return c.json(await center.preferences(claims.sub));
  });

  app.put("/api/notifications/preferences", async (c) => {
    const claims = await requireUser(c, ctx);
    const body = await readJson(c, notificationPreferencesBodySchema);
    return c.json(await translate(() => center.setPreferences(claims.sub, body)));
  });

  app.get("/api/notifications/log", async (c) => {
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
    if (!bundle) throw new ApiError(404, "not_found", "The bell is not built");
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
