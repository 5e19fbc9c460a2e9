import { Hono } from "hono";
import type { AppContext } from "../lib/context.ts";
import { renderPrometheus } from "../lib/metrics/mod.ts";
import { requireMetricsToken } from "./_auth.ts";

/** `/healthz` and `/metrics` (behind `METRICS_TOKEN` when that is set). */
export function healthRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  app.get("/healthz", async (c) => {
    let kv = false;
    try {
      await ctx.probeKv();
      kv = true;
    } catch (error) {
      ctx.log.warn("health_kv_failed", { error });
    }
    c.header("Cache-Control", "no-store");
    return c.json({ ok: kv, kv: kv ? "ok" : "unreachable", isolate: ctx.isolate }, kv ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    requireMetricsToken(c, ctx);
    // Only reads KV: each isolate writes its own counters on a timer, never per scrape.
    const snapshot = await ctx.metricsSharing.collect();
    c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    c.header("Cache-Control", "no-store");
    return c.body(renderPrometheus(snapshot));
  });
  return app;
}
