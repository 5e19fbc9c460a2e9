import { z } from "zod";
import { Hono } from "hono";
import { buildAdminSnapshot } from "../lib/admin/mod.ts";
import type { AppContext } from "../lib/context.ts";
import { ApiError } from "../lib/errors/mod.ts";
import { issueToken } from "../lib/identity/mod.ts";
import type { TransferService } from "../lib/transfer/mod.ts";
import { openSse } from "../lib/transport/mod.ts";
import { Layout } from "../components/Layout.tsx";
import { Island } from "../components/Island.tsx";
import { renderPage } from "../components/render_page.tsx";
import AdminDashboard from "../islands/AdminDashboard.tsx";
import { requireApiKey, requireStreamToken } from "./_auth.ts";
import { admitConnection, openWithLease, transportObserver } from "./_realtime.ts";
import type { Config } from "../lib/config/mod.ts";
import {
  API_KEY_ERRORS,
  type Endpoint,
  issuedTokenSchema,
  serve,
  STREAM_ERRORS,
  streamQuerySchema,
} from "./_endpoint.ts";

const counts = z.record(z.string(), z.number());

/** What `GET /api/admin/snapshot` answers (`AdminSnapshot`), and each `snapshot` event carries. */
const snapshotSchema = z.object({
  at: z.iso.datetime(),
  isolates: z.array(z.object({ isolate: z.string(), ageMs: z.number(), connections: counts })),
  connections: counts.describe("Open connections by kind."),
  topics: z.array(
    z.object({ topic: z.string(), head: z.number(), subscribers: z.number(), lag: z.number() }),
  ),
  transfers: counts.describe("Transfer sessions by state."),
  notifications: counts,
  rateLimited: counts.describe("Rejections by bucket."),
  counters: counts,
  problems: z.array(z.record(z.string(), z.unknown())).describe("Recent problems, newest first."),
});

/**
 * The admin endpoints: each one's contract, which the handlers below are
 * registered with and which `/docs` and `/docs/openapi.json` show.
 */
export function adminEndpoints(
  _config: Config,
): Record<"snapshot" | "streamToken" | "stream", Endpoint> {
  return {
    snapshot: {
      method: "GET",
      path: "/api/admin/snapshot",
      tag: "Admin",
      summary: "Operations snapshot",
      description: "Connections by kind and isolate, the busiest topics with head offset and " +
        "lag, transfer sessions by state, notification and rate-limit counters, and recent " +
        "problems of every isolate.",
      auth: "api_key",
      responses: {
        200: {
          description:
            "`{at, isolates, connections, topics, transfers, notifications, rateLimited, " +
            "counters, problems}`",
          body: snapshotSchema,
        },
        401: "No or wrong API key",
      },
      errors: API_KEY_ERRORS,
      guides: ["operations"],
      example:
        `curl -fsS "$BASE/api/admin/snapshot" -H "Authorization: Bearer $KEY" | jq '.connections'`,
    },
    streamToken: {
      method: "POST",
      path: "/api/admin/stream-token",
      tag: "Admin",
      summary: "Mint an admin stream token",
      description: "A single-use stream token for the admin stream, so the API key never " +
        "travels in a URL.",
      auth: "api_key",
      responses: {
        201: { description: "`{token, expiresAt}`", body: issuedTokenSchema },
        401: "No or wrong API key",
      },
      errors: API_KEY_ERRORS,
      guides: ["operations"],
      example: `curl -fsS -X POST "$BASE/api/admin/stream-token" -H "Authorization: Bearer $KEY"`,
    },
    stream: {
      method: "GET",
      path: "/api/admin/stream",
      tag: "Admin",
      summary: "Live snapshots (SSE)",
      transport: "sse",
      description: "The snapshot as `event: snapshot` every 2 s. Needs an admin stream token.",
      auth: "stream_token",
      query: streamQuerySchema.pick({ token: true }),
      serverFrames: { snapshot: "The same JSON as `GET /api/admin/snapshot`" },
      responses: { 200: "An event stream", 401: "No or bad token", 403: "Not an admin token" },
      errors: [...STREAM_ERRORS, "forbidden", "rate_limited"],
      guides: ["operations"],
      example:
        `ADMIN=$(curl -fsS -X POST "$BASE/api/admin/stream-token" -H "Authorization: Bearer $KEY" | jq -r .token)
timeout 3 curl -fsSN "$BASE/api/admin/stream?token=$ADMIN" | cut -c1-120 || test $? -eq 124`,
    },
  };
}

/**
 * The admin dashboard: `/admin` (page), `GET /api/admin/snapshot` (API key),
 * `POST /api/admin/stream-token` (API key → single-use stream token) and the
 * live `GET /api/admin/stream?token=` (SSE, one snapshot every 2 s). The API key
 * never travels in a URL.
 */
export function adminRoutes(
  ctx: AppContext,
  transfer: Pick<TransferService, "countByState">,
): Hono {
  const app = new Hono();
  const endpoints = adminEndpoints(ctx.config);
  const snapshot = async () =>
    await buildAdminSnapshot(await ctx.metricsSharing.reports(), {
      headOf: async (topic) => (await ctx.broker.head(topic))?.offset ?? 0,
      transferStates: () => transfer.countByState(),
    });

  serve(app, endpoints.snapshot, async (c) => {
    requireApiKey(c, ctx);
    c.header("Cache-Control", "no-store");
    return c.json(await snapshot());
  });

  serve(app, endpoints.streamToken, async (c) => {
    requireApiKey(c, ctx);
    const issued = await issueToken(ctx.secrets.secret, {
      userId: "admin",
      name: "Admin",
      perms: ["admin"],
      kind: "stream",
    });
    return c.json(issued, 201);
  });

  serve(app, endpoints.stream, async (c) => {
    const claims = await requireStreamToken(c, ctx);
    if (claims.kind !== "stream" || !claims.perms.includes("admin")) {
      throw new ApiError("forbidden", "The admin stream needs an admin stream token");
    }
    const lease = admitConnection(c, ctx);
    return openWithLease(lease, () =>
      openSse({
        lease,
        label: "admin",
        heartbeatMs: ctx.config.SSE_HEARTBEAT_SECONDS * 1000,
        observer: transportObserver(ctx),
        onOpen: async (connection) => {
          while (!connection.signal.aborted) {
            connection.send(await snapshot(), { event: "snapshot" });
            await new Promise((resolve) => {
              const timer = setTimeout(resolve, 2000);
              connection.signal.addEventListener("abort", () => {
                clearTimeout(timer);
                resolve(null);
              }, { once: true });
            });
          }
        },
        onError: (error) => ctx.log.warn("admin_stream_failed", { error }),
      }));
  });

  app.get("/admin", (c) =>
    c.html(renderPage({
      title: "Admin · Switchboard",
      manifest: ctx.manifest,
      body: (
        <Layout current="/admin">
          <section class="hero compact">
            <h1>Operations</h1>
            <p class="lead">
              Live state of every isolate: connections, topics and their lag, transfer sessions,
              notification delivery, rate limits and recent problems.
            </p>
          </section>
          <Island name="AdminDashboard" component={AdminDashboard} props={{}} />
        </Layout>
      ),
    })));
  return app;
}
