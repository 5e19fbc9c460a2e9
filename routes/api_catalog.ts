/**
 * @module
 * The API catalog: the reference's groups (tags, in page order) and every
 * endpoint, gathered from the route modules that declare each one next to its
 * handler (`_endpoint.ts`). `/docs` and `/docs/openapi.json` are built from it;
 * tests run every `example` and check that no registered route is missing.
 */
import type { EndpointDoc } from "../lib/api_docs/mod.ts";
import type { Config } from "../lib/config/mod.ts";
import { ERROR_CODES as REGISTERED_ERROR_CODES, type ErrorCodeDoc } from "../lib/errors/mod.ts";
import { adminEndpoints } from "./admin.tsx";
import { chatEndpoints } from "./chat.ts";
import { operationEndpoints } from "./health.ts";
import { identityEndpoints } from "./identity.ts";
import { linkEndpoints } from "./link.ts";
import { notificationEndpoints } from "./notifications.ts";
import { notifyEndpoints } from "./notify.ts";
import { pushEndpoints } from "./push.ts";
import { topicEndpoints } from "./topics.ts";
import { transferEndpoints } from "./transfer.ts";

/** The groups of the reference, in page order, with the guide that explains each. */
export const API_TAGS: { name: string; description: string; guide?: string }[] = [
  {
    name: "Identity",
    description: "The API key for backends, user and guest tokens, single-use stream tokens.",
  },
  {
    name: "Topics",
    description: "Ordered logs with gapless offsets: publish, read history, follow over SSE or " +
      "WebSocket and resume with a cursor.",
    guide: "protocol",
  },
  {
    name: "Live transfer",
    description: "Sessions with single-join codes, WebRTC signaling over a WebSocket with " +
      "store-and-forward, ICE servers. File bytes never pass through the server.",
    guide: "transfer",
  },
  {
    name: "Link mode",
    description: "Upload now, download later: streamed into KV, expiring links, download limits, " +
      "ranges, optional end-to-end encryption.",
    guide: "link_mode",
  },
  {
    name: "Notifications",
    description: "Typed JSON from your backend to every tab and device of a user, with acks, " +
      "re-sends, read state, history, preferences and an audit log.",
    guide: "notifications",
  },
  {
    name: "Chat",
    description: "Channels with stored messages, history pages, presence, typing and exact replay.",
    guide: "chat",
  },
  {
    name: "Admin",
    description: "The operator's snapshot of every isolate, once or live over SSE.",
    guide: "operations",
  },
  {
    name: "Operations",
    description: "Health, readiness and Prometheus metrics for load balancers and monitoring.",
    guide: "operations",
  },
];

/** The error code registry of `lib/errors`, indexable by any string (for lookups of documented codes). */
export const ERROR_CODES: Readonly<Record<string, ErrorCodeDoc>> = REGISTERED_ERROR_CODES;

/** Where the examples' variables come from (shown on the reference page). */
export const EXAMPLE_SETUP_NOTE =
  "Examples use `$BASE` (the server), `$KEY` (the API key), `$TOKEN` (a user token for " +
  "`ada`) and a small `ws` helper, all from the setup block of docs/api.md.";

/** True for the paths the catalog must cover: the API and the operations endpoints. */
export function isCatalogPath(path: string): boolean {
  return path.startsWith("/api/") || ["/healthz", "/readyz", "/metrics"].includes(path);
}

/**
 * Every endpoint, in page order. Limits that come from configuration (e.g. the
 * longest transfer TTL) are read from `config`, exactly as the routes do.
 */
export function apiCatalog(config: Config): EndpointDoc[] {
  return [
    identityEndpoints,
    topicEndpoints,
    transferEndpoints,
    linkEndpoints,
    notificationEndpoints,
    notifyEndpoints,
    pushEndpoints,
    chatEndpoints,
    adminEndpoints,
    operationEndpoints,
  ].flatMap((endpoints) => Object.values(endpoints(config)));
}
