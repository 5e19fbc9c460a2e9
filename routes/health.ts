import { z } from "zod";
import { Hono } from "hono";
import type { AppContext } from "../lib/context.ts";
import { renderPrometheus } from "../lib/metrics/mod.ts";
import { requireMetricsToken } from "./_auth.ts";
import type { Config } from "../lib/config/mod.ts";
import { type Endpoint, serve } from "./_endpoint.ts";

/** What `GET /healthz` answers while KV answers. */
const healthySchema = z.object({
  ok: z.literal(true),
  kv: z.literal("ok"),
  isolate: z.string().describe("The isolate that answered."),
});

/** What `GET /healthz` answers when KV does not (its own body, not an error code). */
const unhealthySchema = z.object({ ok: z.literal(false), kv: z.literal("unreachable") });

/** What `GET /readyz` answers: 200 with `ready: true`, 503 with `ready: false`. */
const readinessSchema = z.object({
  ready: z.boolean().describe("KV answers and the isolate is not draining."),
  kv: z.enum(["ok", "unreachable"]),
  draining: z.boolean().describe("The isolate is stopping (SIGTERM): send new clients elsewhere."),
  isolate: z.string().describe("The isolate that answered."),
});

/**
 * The operations endpoints: each one's contract, which the handlers below are
 * registered with and which `/docs` and `/docs/openapi.json` show.
 */
export function operationEndpoints(
  config: Config,
): Record<"health" | "ready" | "metrics", Endpoint> {
  return {
    health: {
      method: "GET",
      path: "/healthz",
      tag: "Operations",
      summary: "Health",
      description: "200 while the isolate can read KV, 503 when it cannot. `isolate` names the " +
        "isolate that answered.",
      auth: "none",
      responses: {
        200: { description: '`{ok: true, kv: "ok", isolate}`', body: healthySchema },
        503: { description: '`{ok: false, kv: "unreachable"}`', body: unhealthySchema },
      },
      errors: [],
      guides: ["operations", "deployment"],
      example: `curl -fsS "$BASE/healthz"`,
    },
    ready: {
      method: "GET",
      path: "/readyz",
      tag: "Operations",
      summary: "Readiness",
      description: "For a load balancer or Kubernetes readiness probe: 200 while the isolate can " +
        "read KV and is not draining, 503 once it is stopping (after SIGTERM, while its " +
        "connections close) or KV does not answer. `/healthz` stays the liveness check.",
      auth: "none",
      responses: {
        200: {
          description: '`{ready: true, kv: "ok", draining: false, isolate}`',
          body: readinessSchema,
        },
        503: { description: "`{ready: false, kv, draining, isolate}`", body: readinessSchema },
      },
      errors: [],
      guides: ["operations", "deployment"],
      example: `curl -fsS "$BASE/readyz"`,
    },
    metrics: {
      method: "GET",
      path: "/metrics",
      tag: "Operations",
      summary: "Prometheus metrics",
      description: "Prometheus text summed over every isolate that reported in the last 10 s: " +
        "open connections by kind, frames in and out, deliveries, acks, retries, transfer " +
        "sessions, uploads, rate-limit rejections; histograms of HTTP request duration " +
        "(`switchboard_http_request_duration_seconds` by route, method, status) and " +
        "publish→deliver latency (`switchboard_delivery_latency_seconds` by kind); process " +
        "metrics per isolate (`process_resident_memory_bytes`, `process_start_time_seconds`, " +
        "heap, event-loop delay). Every family has `# HELP` and `# TYPE`. A scrape only reads KV. With `METRICS_TOKEN` " +
        "set it needs `Authorization: Bearer <METRICS_TOKEN>`; without it, anyone may scrape.",
      auth: config.METRICS_TOKEN ? "metrics_token" : "none",
      responses: {
        200: {
          description: "`text/plain; version=0.0.4`",
          body: z.string().describe("Prometheus text exposition format 0.0.4."),
          mediaType: "text/plain",
        },
        401: "`METRICS_TOKEN` set: no or bad token",
      },
      errors: ["missing_token", "invalid_token"],
      guides: ["operations"],
      example:
        `curl -fsS "$BASE/metrics" \${METRICS_TOKEN:+-H "Authorization: Bearer $METRICS_TOKEN"} |
  grep -E '^switchboard_(isolates|connections_open)'`,
    },
  };
}

/** Whether KV answers a read (logged when it does not). */
async function kvReachable(ctx: Pick<AppContext, "probeKv" | "log">): Promise<boolean> {
  try {
    await ctx.probeKv();
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
  ctx: Pick<AppContext, "probeKv" | "log" | "isolate" | "shutdown" | "metricsSharing" | "config">,
): Hono {
  const app = new Hono();
  const endpoints = operationEndpoints(ctx.config);
  serve(app, endpoints.health, async (c) => {
    const kv = await kvReachable(ctx);
    c.header("Cache-Control", "no-store");
    return c.json({ ok: kv, kv: kv ? "ok" : "unreachable", isolate: ctx.isolate }, kv ? 200 : 503);
  });
  serve(app, endpoints.ready, async (c) => {
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
  serve(app, endpoints.metrics, async (c) => {
    requireMetricsToken(c, ctx);
    // Only reads KV: each isolate writes its own counters on a timer, never per scrape.
    const snapshot = await ctx.metricsSharing.collect();
    c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    c.header("Cache-Control", "no-store");
    return c.body(renderPrometheus(snapshot));
  });
  return app;
}
