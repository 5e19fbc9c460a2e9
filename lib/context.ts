/**
 * @module
 * The core of one isolate, built once by `startServer` (server.ts) and
 * handed to every route. Routes never see the KV handle: what they need of KV is
 * behind a core object ({@linkcode TokenStore}, `probeKv`) or a job service.
 */
import type { Config } from "./config/mod.ts";
import type { ServerSecrets } from "./identity/secrets.ts";
import type { TokenStore } from "./identity/token_store.ts";
import type { UserConnections } from "./identity/user_connections.ts";
import type { IslandManifest } from "./islands/mod.ts";
import type { Logger } from "./log/mod.ts";
import type { KvMetricsSharing, MetricsRegistry } from "./metrics/mod.ts";
import type { RateLimiter } from "./rate_limit/mod.ts";
import type { Broker } from "./realtime/mod.ts";
import type { Presence } from "./presence/mod.ts";
import type { StorageBudget } from "./storage_budget/mod.ts";
import type { Connection, ConnectionCaps } from "./transport/mod.ts";

/** Everything a route may use. */
export interface AppContext {
  config: Config;
  /** One strong KV read; rejects when KV is unreachable (`/healthz`). */
  probeKv(): Promise<void>;
  /** Whether KV is a local file or remote (Deno Deploy, denokv, or the latency model). */
  kvDistance: "local" | "remote";
  secrets: ServerSecrets;
  /** Revocations and spent stream tokens. */
  tokens: TokenStore;
  /** Identifies this isolate in `/healthz`, logs and metrics. */
  isolate: string;
  log: Logger;
  metrics: MetricsRegistry;
  metricsSharing: KvMetricsSharing;
  manifest: IslandManifest;
  /** Per-address and per-token limits shared by every isolate through KV. */
  rateLimiter: RateLimiter;
  /** Topics with gapless offsets, delivered across isolates. */
  broker: Broker;
  /** Who is online in which scope. */
  presence: Presence;
  /** Bytes anyone may store per kind of data (signaling, uploads, chat), over every isolate. */
  storageBudget: StorageBudget;
  /** Concurrent realtime connections per address and user in this isolate. */
  connectionCaps: ConnectionCaps;
  /** Open realtime connections of this isolate (closed with 1012 on shutdown). */
  connections: Set<Connection>;
  /** The same by user, for the ones a token revocation closes (4401). */
  userConnections: UserConnections;
  /** Aborted once the isolate starts stopping: `/readyz` answers 503 (draining) from then on. */
  shutdown: AbortSignal;
}
