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
  const snapshot = async () =>
    await buildAdminSnapshot(await ctx.metricsSharing.reports(), {
      headOf: async (topic) => (await ctx.broker.head(topic))?.offset ?? 0,
      transferStates: () => transfer.countByState(),
    });

  app.get("/api/admin/snapshot", async (c) => {
    requireApiKey(c, ctx);
    c.header("Cache-Control", "no-store");
    return c.json(await snapshot());
  });

  app.post("/api/admin/stream-token", async (c) => {
    requireApiKey(c, ctx);
    const issued = await issueToken(ctx.secrets.secret, {
      userId: "admin",
      name: "Admin",
      perms: ["admin"],
      kind: "stream",
    });
    return c.json(issued, 201);
  });

  app.get("/api/admin/stream", async (c) => {
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
