/**
 * @module
 * Composition root: configuration → KV → secrets → services → Hono app.
 *
 * Run it with `deno serve` (this module's default export has `fetch`), which is
 * what `deno task start` does with `--parallel`, or with `deno run -A main.ts`,
 * which starts its own `Deno.serve` on `PORT`/`HOSTNAME`.
 */
import { ConfigError, loadConfig } from "./lib/config/mod.ts";
import { kvCheckLimit, kvDistance, openKv } from "./lib/kv/mod.ts";
import { ensureServerSecrets } from "./lib/identity/secrets.ts";
import { UserConnections } from "./lib/identity/user_connections.ts";
import { readIslandManifest } from "./lib/islands/mod.ts";
import { createLogger, RecentProblems } from "./lib/log/mod.ts";
import type { IsolateDetails } from "./lib/admin/mod.ts";
import { KvMetricsSharing, MetricsRegistry, watchProcess } from "./lib/metrics/mod.ts";
import { KvRateLimiter } from "./lib/rate_limit/mod.ts";
import { KvBroker } from "./lib/realtime/mod.ts";
import { KvPresence } from "./lib/presence/mod.ts";
import { STORAGE_WINDOWS, StorageBudget } from "./lib/storage_budget/mod.ts";
import type { AppContext } from "./lib/context.ts";
import { CLOSE_CODES, ConnectionCaps } from "./lib/transport/mod.ts";
import { startJobs } from "./lib/server/jobs.ts";
import { createApp } from "./app.ts";
import { tracingProblem } from "./lib/observability/mod.ts";
import { reportLoopFailures } from "./lib/periodic/mod.ts";

const isolate = crypto.randomUUID().slice(0, 8);

async function boot(): Promise<{ ctx: AppContext; fetch: Deno.ServeHandler }> {
  const config = loadConfig(Deno.env.toObject());
  // Deno's own request span holds the raw URL (tokens in the query): refuse to export it.
  // Deno Deploy turns tracing on by itself (to its own trace viewer): there the server
  // still starts, and says loudly what to set (docs/operations.md § Tracing).
  const tracing = tracingProblem(Deno.env.toObject());
  const onDeploy = Boolean(Deno.env.get("DENO_DEPLOYMENT_ID"));
  if (tracing && !onDeploy) throw new ConfigError(tracing);
  const problems = new RecentProblems();
  const log = createLogger({ level: config.LOG_LEVEL, isolate, recent: problems });
  if (tracing) log.error("tracing_exports_request_urls", { problem: tracing });
  const kv = await openKv(config.KV_PATH, { latency: config.SIMULATE_KV_LATENCY });
  if (config.SIMULATE_KV_LATENCY) {
    const { strongMs, eventualMs } = config.SIMULATE_KV_LATENCY;
    log.warn("kv_latency_simulated", {
      strongMs,
      eventualMs,
      note: "every KV operation is delayed (SIMULATE_KV_LATENCY): for benchmarks and tests only",
    });
  }
  const secrets = await ensureServerSecrets(kv, {
    secret: config.SWITCHBOARD_SECRET,
    apiKey: config.SWITCHBOARD_API_KEY,
  });
  if (secrets.apiKeyIsNew) {
    // Printed once, on the start that generated it; never logged as a field.
    console.log(
      `Switchboard API key (generated, stored in KV): ${secrets.apiKey}\n` +
        `Read it again any time with: deno task api-key`,
    );
  }
  const manifest = await readIslandManifest(
    new URL("./_build/islands/manifest.json", import.meta.url).pathname,
  );
  const distance = kvDistance(config.KV_PATH, { latency: config.SIMULATE_KV_LATENCY });
  const metrics = new MetricsRegistry();
  const processProbe = watchProcess(metrics, { isolate });
  const failures = { log, metrics };
  const metricsSharing = new KvMetricsSharing(kv, metrics, {
    isolate,
    onError: reportLoopFailures(failures, "metrics_sharing"),
  });
  const rateLimiter = new KvRateLimiter(kv, {
    onReject: (bucket) => metrics.increment("switchboard_rate_limited_total", { bucket }),
    onError: (error) => log.warn("rate_limit_write_failed", { error }),
  });
  const broker = new KvBroker(kv, {
    broadcastChannel: config.BROADCAST_CHANNEL === "on",
    kv: distance,
    maxChecks: kvCheckLimit(distance),
    // Between isolates of this process the BroadcastChannel carries every event; a local
    // file has no other writers, so head watches would only add work.
    watchHeads: distance === "remote" || config.BROADCAST_CHANNEL === "off",
    onStats: ({ feeds, watches }) => {
      metrics.set("switchboard_topic_feeds", {}, feeds);
      metrics.set("switchboard_topic_watches", {}, watches);
    },
    onResume: (topic) =>
      metrics.increment("switchboard_resumes_total", { kind: topic.split(":")[0]! }),
    onCommit: ({ outcome, basis, events }) => {
      metrics.increment("switchboard_topic_commits_total", { outcome, basis });
      metrics.increment("switchboard_topic_commit_events_total", { outcome }, events);
    },
  });
  metricsSharing.setDetails((): IsolateDetails => ({
    topics: broker.stats().slice(0, 50),
    problems: problems.list(),
  }));
  const presence = new KvPresence(kv, broker, {
    ttlMs: config.PRESENCE_TTL_SECONDS * 1000,
    onError: (error, loop) => reportLoopFailures(failures, loop)(error),
  });
  const storageBudget = new StorageBudget(kv, {
    isolate,
    budgets: {
      signaling: { ...STORAGE_WINDOWS.signaling, bytes: config.SIGNALING_STORAGE_BYTES },
      uploads: { ...STORAGE_WINDOWS.uploads, bytes: config.UPLOAD_STORAGE_BYTES },
      chat: { ...STORAGE_WINDOWS.chat, bytes: config.CHAT_STORAGE_BYTES },
    },
    onError: reportLoopFailures(failures, "storage_budget_sync"),
  });
  const shutdown = new AbortController();
  const ctx: AppContext = {
    config,
    kv,
    kvDistance: distance,
    secrets,
    isolate,
    log,
    metrics,
    metricsSharing,
    manifest,
    rateLimiter,
    broker,
    presence,
    connections: new Set(),
    connectionCaps: new ConnectionCaps(),
    storageBudget,
    userConnections: new UserConnections(),
    shutdown: shutdown.signal,
  };
  const jobs = await startJobs(ctx, config);
  const app = createApp(ctx, jobs);
  const stop = async (signal: string) => {
    if (shutdown.signal.aborted) return;
    const stoppedAt = Date.now();
    shutdown.abort();
    log.info("isolate_stopping", { signal, connections: ctx.connections.size });
    // Clients reconnect and resume from their cursors on another isolate or after the restart.
    for (const connection of [...ctx.connections]) {
      connection.close(CLOSE_CODES.serviceRestart, "server restarting, resume");
    }
    await jobs[Symbol.asyncDispose]().catch((error) => log.error("jobs_stop_failed", { error }));
    await Promise.allSettled([
      rateLimiter[Symbol.asyncDispose](),
      presence[Symbol.asyncDispose](),
      broker[Symbol.asyncDispose](),
      metricsSharing[Symbol.asyncDispose](),
      storageBudget[Symbol.asyncDispose](),
    ]);
    processProbe[Symbol.dispose]();
    kv.close();
    // Every isolate of the process got the signal; Deno.exit() in one ends them all,
    // so leave the others a moment to close their own sockets first.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + 500 - Date.now())));
    Deno.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => void stop(signal));
    } catch { /* platforms without signals (Deno Deploy) */ }
  }
  log.info("isolate_started", {
    kvPath: config.KV_PATH.startsWith("http") ? "remote" : config.KV_PATH,
  });
  return {
    ctx,
    fetch: (request, info) => app.fetch(request, info),
  };
}

let booted: Awaited<ReturnType<typeof boot>>;
try {
  booted = await boot();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    Deno.exit(1);
  }
  throw error;
}

/** True when this process was started with `deno run` (not `deno serve`). */
function startedWithDenoRun(): boolean {
  // Deno 2.9 sets import.meta.main under `deno serve` too, so ask the command line.
  try {
    const args = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
    return args.includes("run") && !args.includes("serve");
  } catch {
    return false;
  }
}

if (import.meta.main && startedWithDenoRun()) {
  const { config } = booted.ctx;
  Deno.serve({ port: config.PORT, hostname: config.HOSTNAME }, booted.fetch);
}

export default { fetch: booted.fetch } satisfies Deno.ServeDefaultExport;
