/**
 * @module
 * The Hono application: secure headers, the error handler, and every route module.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { routePath } from "hono/route";
import { ApiError } from "./lib/errors/mod.ts";
import type { AppContext } from "./lib/context.ts";
import type { JobServices } from "./lib/server/jobs.ts";
import { healthRoutes } from "./routes/health.ts";
import { pageRoutes, renderErrorPage } from "./routes/pages.tsx";
import { staticRoutes } from "./routes/static.ts";
import { linkRoutes } from "./routes/link.ts";
import { identityRoutes } from "./routes/identity.ts";
import { topicRoutes } from "./routes/topics.ts";
import { adminRoutes } from "./routes/admin.tsx";
import { chatRoutes } from "./routes/chat.ts";
import { notificationRoutes } from "./routes/notifications.ts";
import { notifyRoutes } from "./routes/notify.ts";
import { pushRoutes } from "./routes/push.ts";
import { webAppRoutes } from "./routes/web_app.ts";
import { transferRoutes } from "./routes/transfer.ts";
import { sharePageRoutes } from "./routes/share_pages.tsx";
import { docsRoutes } from "./routes/docs.tsx";
import { hasApiKey } from "./routes/_auth.ts";
import { clientAddress, limitBodies, setForwardedAddress } from "./routes/_http.ts";
import { enforceRateLimit } from "./lib/rate_limit/mod.ts";
import { traceRequest, tracingEnabled } from "./lib/observability/mod.ts";

/** Methods that get a label value of their own in the request histogram (others: "other"). */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Builds the application for one isolate: the core's context and the job services. */
export function createApp(ctx: AppContext, jobs: JobServices): Hono {
  const app = new Hono();
  // With tracing on, the request span that is exported (in place of Deno's, which holds the raw
  // URL): the route pattern and a redacted query.
  if (tracingEnabled()) {
    app.use(async (c, next) => {
      await traceRequest(c.req.raw, async () => {
        await next();
        return { route: routePath(c), status: c.res.status };
      });
    });
  }
  app.use(secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      styleSrcAttr: ["'unsafe-inline'"],
      imgSrc: ["'self'", "data:", "blob:"],
      connectSrc: ["'self'"],
      mediaSrc: ["'self'", "blob:"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    referrerPolicy: "no-referrer",
    crossOriginEmbedderPolicy: false,
    permissionsPolicy: { camera: [], microphone: [], geolocation: [] },
  }));

  // One structured line per request at debug level. The route pattern, not the path: paths carry
  // capabilities (upload ids in /d/:id and /api/download/:id), queries carry tokens.
  // The same measurement feeds the request-duration histogram (route pattern, method, status:
  // a bounded set of labels).
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const ms = performance.now() - started;
    const route = routePath(c);
    ctx.metrics.observe("switchboard_http_request_duration_seconds", {
      route,
      method: KNOWN_METHODS.has(c.req.method) ? c.req.method : "other",
      status: String(c.res.status),
    }, ms / 1000);
    ctx.log.debug("http_request", {
      method: c.req.method,
      route,
      status: c.res.status,
      ms: Math.round(ms * 10) / 10,
    });
  });

  if (ctx.config.TRUST_PROXY === "on") {
    app.use(async (c, next) => {
      const forwarded = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
      if (forwarded) setForwardedAddress(c, forwarded);
      await next();
    });
  }

  // Per-address limit on the API (and the design documents' socket paths, aliases of API
  // endpoints); backends holding the API key are trusted.
  const limitRequests: MiddlewareHandler = async (c, next) => {
    if (!hasApiKey(c, ctx)) {
      await enforceRateLimit(ctx.rateLimiter, "requests", clientAddress(c), {
        limit: ctx.config.REQUESTS_PER_MINUTE,
        windowMs: 60_000,
      });
    }
    await next();
  };
  for (const path of ["/api/*", "/ws/*", "/channel/*"]) app.use(path, limitRequests);
  // Every API body is cut off past its route's limit (64 KiB by default) or when it stalls.
  app.use("/api/*", limitBodies({ timeoutMs: ctx.config.BODY_TIMEOUT_SECONDS * 1000 }));

  app.route("/", healthRoutes(ctx));
  app.route("/", identityRoutes(ctx));
  app.route("/", topicRoutes(ctx));
  app.route("/", adminRoutes(ctx, jobs.transfer));
  app.route("/", chatRoutes(ctx, jobs.chat));
  app.route("/", pushRoutes(ctx, jobs.push));
  app.route("/", webAppRoutes(ctx));
  app.route("/", notificationRoutes(ctx, jobs.notifications, jobs.push));
  app.route("/", notifyRoutes(ctx, jobs.notifications));
  app.route("/", transferRoutes(ctx, jobs.transfer));
  app.route("/", sharePageRoutes(ctx));
  app.route("/", linkRoutes(ctx, jobs.link));
  app.route("/", staticRoutes(ctx));
  app.route("/", pageRoutes(ctx));
  app.route("/", docsRoutes(ctx, () => app.routes));

  app.all("/api/*", () => {
    throw new ApiError("not_found", "No such API endpoint");
  });
  app.notFound((c) => {
    if (c.req.path.startsWith("/api/")) {
      return c.json(new ApiError("not_found", "No such API endpoint").toJSON(), 404);
    }
    return c.html(renderErrorPage(ctx, 404, "Page not found"), 404);
  });
  app.onError((error, c) => {
    const isApi = c.req.path.startsWith("/api/") || !c.req.header("accept")?.includes("text/html");
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      if (isApi) return c.json(error.toJSON(), error.status as 400);
      return c.html(renderErrorPage(ctx, error.status, error.message), error.status as 400);
    }
    ctx.metrics.increment("switchboard_errors_total", { where: "http" });
    ctx.log.error("http_error", { method: c.req.method, route: routePath(c), error });
    if (isApi) {
      return c.json({ error: { code: "internal_error", message: "Something went wrong" } }, 500);
    }
    return c.html(renderErrorPage(ctx, 500, "Something went wrong"), 500);
  });
  return app;
}
