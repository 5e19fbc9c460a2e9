import { Hono } from "hono";
import type { AppContext } from "../lib/context.ts";
import { renderPrometheus } from "../lib/metrics/mod.ts";
import { requireMetricsToken } from "./_auth.ts";

/** Whether KV answers a read (logged when it does not). */
async function kvReachable(ctx: Pick<AppContext, "kv" | "log">): Promise<boolean> {
  try {
    await ctx.kv.get(["health", "probe"]);
    return true;
  } catch (error) {
    ctx.log.warn("health_kv_failed", { error });
    return false;
  }
}

/**
 * `/healthz` (liveness: KV answers), `/readyz` (readiness: KV answers and the
 * isolate is not draining for a shutdown) and `/metrics` (behind `METRICS_TOKEN`
 * when that is set).
 */
export function healthRoutes(
  ctx: Pick<AppContext, "kv" | "log" | "isolate" | "shutdown" | "metricsSharing" | "config">,
): Hono {
  const app = new Hono();
  app.get("/healthz", async (c) => {
    const kv = await kvReachable(ctx);
    c.header("Cache-Control", "no-store");
    return c.json({ ok: kv, kv: kv ? "ok" : "unreachable", isolate: ctx.isolate }, kv ? 200 : 503);
  });
  app.get("/readyz", async (c) => {
    const draining = ctx.shutdown.aborted;
    const kv = await kvReachable(ctx);
    const ready = kv && !draining;
    c.header("Cache-Control", "no-store");
    return c.json({
      ready,
      kv: kv ? "ok" : "unreachable",
      draining,
      isolate: ctx.isolate,
    }, ready ? 200 : 503);
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
