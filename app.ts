/**
 * @module
 * The Hono application: secure headers, the error handler, and every route module.
 */
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { ApiError } from "./lib/errors/mod.ts";
import type { AppContext } from "./lib/context.ts";
import { healthRoutes } from "./routes/health.ts";
import { pageRoutes, renderErrorPage } from "./routes/pages.tsx";
import { staticRoutes } from "./routes/static.ts";

/** Builds the application for one isolate. */
export function createApp(ctx: AppContext): Hono {
  const app = new Hono();
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

  app.route("/", healthRoutes(ctx));
  app.route("/", staticRoutes(ctx));
  app.route("/", pageRoutes(ctx));

  app.all("/api/*", () => {
    throw new ApiError(404, "not_found", "No such API endpoint");
  });
  app.notFound((c) => {
    if (c.req.path.startsWith("/api/")) {
      return c.json(new ApiError(404, "not_found", "No such API endpoint").toJSON(), 404);
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
    ctx.log.error("http_error", { path: c.req.path, error });
    if (isApi) {
      return c.json({ error: { code: "internal_error", message: "Something went wrong" } }, 500);
    }
    return c.html(renderErrorPage(ctx, 500, "Something went wrong"), 500);
  });
  return app;
}
