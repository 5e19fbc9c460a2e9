import assert from "node:assert/strict";
import { loadConfig } from "../lib/config/mod.ts";
import { createLogger } from "../lib/log/mod.ts";
import { KvMetricsSharing, MetricsRegistry } from "../lib/metrics/mod.ts";
import { healthRoutes } from "./health.ts";

Deno.test("/readyz is 200 while KV answers and 503 once the isolate drains or KV is gone", async () => {
  const kv = await Deno.openKv(":memory:");
  const shutdown = new AbortController();
  const warnings: string[] = [];
  await using metricsSharing = new KvMetricsSharing(kv, new MetricsRegistry(), { isolate: "i1" });
  const app = healthRoutes({
    probeKv: async () => void await kv.get(["health", "probe"]),
    log: createLogger({ write: (line) => warnings.push(line) }),
    isolate: "i1",
    shutdown: shutdown.signal,
    metricsSharing,
    config: loadConfig({}),
  });
  const ready = await app.request("/readyz");
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { ready: true, kv: "ok", draining: false, isolate: "i1" });

  shutdown.abort();
  const draining = await app.request("/readyz");
  assert.equal(draining.status, 503);
  assert.deepEqual(await draining.json(), {
    ready: false,
    kv: "ok",
    draining: true,
    isolate: "i1",
  });
  // Liveness does not depend on draining.
  assert.equal((await app.request("/healthz")).status, 200);

  kv.close();
  const noKv = await app.request("/readyz");
  assert.equal(noKv.status, 503);
  assert.equal((await noKv.json()).kv, "unreachable");
  assert.equal((await app.request("/healthz")).status, 503);
  assert.ok(warnings.some((line) => line.includes("health_kv_failed")));
});
