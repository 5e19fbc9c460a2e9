/**
 * @module
 * One isolate's server, in the order it is built: configuration → KV → core
 * (secrets, log, metrics, rate limiter, broker, presence, storage budget, token
 * store) → job services → Hono app. Stopping it closes the realtime connections
 * and disposes everything in reverse order, each awaited, before KV closes.
 * `main.ts` runs it for `deno serve` / `deno run`; tests run it in-process.
 */
import type { Hono } from "hono";
import { createApp } from "./app.ts";
import type { Clock } from "./lib/clock/mod.ts";
import type { IsolateDetails } from "./lib/admin/mod.ts";
import { type Config, ConfigError, loadConfig } from "./lib/config/mod.ts";
import type { AppContext } from "./lib/context.ts";
import { followRevocations, TokenStore, UserConnections } from "./lib/identity/mod.ts";
import { ensureServerSecrets, type ServerSecrets } from "./lib/identity/secrets.ts";
import { type IslandManifest, readIslandManifest } from "./lib/islands/mod.ts";
import { kvCheckLimit, kvDistance, openKv } from "./lib/kv/mod.ts";
import { createLogger, type Logger, RecentProblems } from "./lib/log/mod.ts";
import { KvMetricsSharing, MetricsRegistry, watchProcess } from "./lib/metrics/mod.ts";
import { tracingProblem } from "./lib/observability/mod.ts";
import { reportLoopFailures } from "./lib/periodic/mod.ts";
import { KvPresence } from "./lib/presence/mod.ts";
import { KvRateLimiter } from "./lib/rate_limit/mod.ts";
import { KvBroker } from "./lib/realtime/mod.ts";
import { STORAGE_WINDOWS, StorageBudget } from "./lib/storage_budget/mod.ts";
import { CLOSE_CODES, ConnectionCaps } from "./lib/transport/mod.ts";
import { startJobs } from "./lib/server/jobs.ts";

/** Options of {@linkcode startServer}. */
export interface StartServerOptions {
  /** Names this isolate in logs, metrics and `/healthz`; default 8 random hex digits. */
  isolate?: string;
  /** The built islands; default read from `_build/islands/manifest.json`. */
  manifest?: IslandManifest;
  /**
   * The live-transfer job's time: its sessions' expiry and the timers of its
   * sweeper and keeper (tests pass a `FakeClock` from `lib/clock/testing.ts`).
   * Default the system clock; the other jobs always use the system clock.
   */
  clock?: Clock;
}

/** A started isolate. `await using` (or `stop()`) stops it. */
export interface Server extends AsyncDisposable {
  /** The validated configuration it started with. */
  config: Config;
  log: Logger;
  /** The Hono app (`app.request()` for in-process tests). */
  app: Hono;
  /** Serves one request (hand it to `Deno.serve`). */
  fetch(request: Request, info?: Deno.ServeHandlerInfo): Response | Promise<Response>;
  /**
   * Closes the realtime connections (1012, "resume"), stops the job services and
   * then the core, last built first, each awaited, and closes KV. Runs once;
   * later calls wait for the first.
   */
  stop(reason?: string): Promise<void>;
  /** The API key (generated on the first start when `SWITCHBOARD_API_KEY` is unset). */
  secrets: ServerSecrets;
}

const MANIFEST_PATH = new URL("./_build/islands/manifest.json", import.meta.url).pathname;

/**
 * Builds and starts one isolate from environment variables (see
 * docs/configuration.md). Throws {@linkcode ConfigError} for a bad variable.
 * If a part fails to start, the parts already started are stopped.
 *
 * @example
 * ```ts
 * await using server = await startServer({ KV_PATH: ":memory:", LOG_LEVEL: "error" });
 * const response = await server.app.request("/healthz");
 * ```
 */
export async function startServer(
  env: Record<string, string>,
  options: StartServerOptions = {},
): Promise<Server> {
  const config = loadConfig(env);
  const isolate = options.isolate ?? crypto.randomUUID().slice(0, 8);
  // Deno's own request span holds the raw URL (tokens in the query): refuse to export it.
  // Deno Deploy turns tracing on by itself (to its own trace viewer): there the server
  // still starts, and says loudly what to set (docs/operations.md § Tracing).
  const tracing = tracingProblem(env);
  if (tracing && !env.DENO_DEPLOYMENT_ID) throw new ConfigError(tracing);
  const problems = new RecentProblems();
  const log = createLogger({ level: config.LOG_LEVEL, isolate, recent: problems });
  if (tracing) log.error("tracing_exports_request_urls", { problem: tracing });
  const manifest = options.manifest ?? await readIslandManifest(MANIFEST_PATH);

  // Disposed in reverse: what is built last stops first, KV closes last.
  await using stack = new AsyncDisposableStack();
  const kv = await openKv(config.KV_PATH, { latency: config.SIMULATE_KV_LATENCY });
  stack.defer(() => kv.close());
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

  const distance = kvDistance(config.KV_PATH, { latency: config.SIMULATE_KV_LATENCY });
  const metrics = new MetricsRegistry();
  stack.use(watchProcess(metrics, { isolate }));
  const failures = { log, metrics };
  const metricsSharing = stack.use(
    new KvMetricsSharing(kv, metrics, {
      isolate,
      onError: reportLoopFailures(failures, "metrics_sharing"),
    }),
  );
  const rateLimiter = stack.use(
    new KvRateLimiter(kv, {
      onReject: (bucket) => metrics.increment("switchboard_rate_limited_total", { bucket }),
      onError: (error) => log.warn("rate_limit_write_failed", { error }),
    }),
  );
  const broker = stack.use(
    new KvBroker(kv, {
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
    }),
  );
  metricsSharing.setDetails((): IsolateDetails => ({
    topics: broker.stats().slice(0, 50),
    problems: problems.list(),
  }));
  const presence = stack.use(
    new KvPresence(kv, broker, {
      ttlMs: config.PRESENCE_TTL_SECONDS * 1000,
      onError: (error, loop) => reportLoopFailures(failures, loop)(error),
    }),
  );
  const storageBudget = stack.use(
    new StorageBudget(kv, {
      isolate,
      budgets: {
        signaling: { ...STORAGE_WINDOWS.signaling, bytes: config.SIGNALING_STORAGE_BYTES },
        uploads: { ...STORAGE_WINDOWS.uploads, bytes: config.UPLOAD_STORAGE_BYTES },
        chat: { ...STORAGE_WINDOWS.chat, bytes: config.CHAT_STORAGE_BYTES },
      },
      onError: reportLoopFailures(failures, "storage_budget_sync"),
    }),
  );
  const draining = new AbortController();
  const stopFollowing = new AbortController();
  const userConnections = new UserConnections();
  // Revocations announced by any isolate close this isolate's connections they cover.
  const followingRevocations = followRevocations(broker, userConnections, {
    signal: stopFollowing.signal,
    onRevoked: (revocation, closed) => {
      if (closed) log.info("connections_revoked", { userId: revocation.userId, closed });
    },
  }).catch(reportLoopFailures(failures, "revocations_follow"));
  stack.defer(async () => {
    stopFollowing.abort();
    await followingRevocations;
  });
  const ctx: AppContext = {
    config,
    probeKv: async () => void await kv.get(["health", "probe"]),
    kvDistance: distance,
    secrets,
    tokens: new TokenStore(kv),
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
    userConnections,
    shutdown: draining.signal,
  };
  const jobs = stack.use(await startJobs({ ...ctx, kv }, config, { clock: options.clock }));
  const app = createApp(ctx, jobs);
  // Clients reconnect and resume from their cursors on another isolate or after the restart.
  // Their close handlers (presence, channel places) still write to KV: waited for.
  stack.defer(async () => {
    const open = [...ctx.connections];
    for (const connection of open) {
      connection.close(CLOSE_CODES.serviceRestart, "server restarting, resume");
    }
    await Promise.all(open.map((connection) => connection.settled));
  });
  const started = stack.move();
  log.info("isolate_started", {
    kvPath: config.KV_PATH.startsWith("http") ? "remote" : config.KV_PATH,
  });

  let stopping: Promise<void> | null = null;
  const stop = (reason = "stop"): Promise<void> => {
    stopping ??= (async () => {
      draining.abort();
      log.info("isolate_stopping", { signal: reason, connections: ctx.connections.size });
      await started.disposeAsync().catch((error) => log.error("isolate_stop_failed", { error }));
    })();
    return stopping;
  };
  return {
    config,
    log,
    app,
    secrets,
    fetch: (request, info) => app.fetch(request, info),
    stop,
    [Symbol.asyncDispose]: () => stop(),
  };
}
