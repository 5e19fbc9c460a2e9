/**
 * Endpoints declared once, next to their handlers: a route module declares each
 * endpoint's contract (request and response schemas, errors, example) as an
 * {@linkcode Endpoint} and registers its handler with {@linkcode serve}, which
 * takes the method and path from that declaration. `/docs` and
 * `/docs/openapi.json` are built from the same declarations (`api_catalog.ts`
 * gathers them), so the reference cannot drift from the routes.
 *
 * Why not `@hono/zod-openapi` (it installs with hono 4.13 and zod 4): its
 * `app.openapi()` puts Hono's validators in front of each handler, and those
 * answer differently from the documented contract: a JSON body without
 * `Content-Type` gets 415 instead of being read, an over-limit or stalled body
 * (`body_too_large`, `body_timeout`) and a too-deep one (`invalid_json`) become
 * a 400 "Malformed JSON" `HTTPException`, and validation failures are not
 * `{"error":{"code","message"}}`. Its document is written by
 * `@asteasolutions/zod-to-openapi`'s own converter rather than zod's
 * `z.toJSONSchema`, and WebSocket and SSE frames need descriptors of our own
 * anyway. So this small descriptor keeps the handlers' own validation
 * (`readJson`, `readQuery`) and feeds `lib/api_docs`, which uses `z.toJSONSchema`.
 */
import type { Hono } from "hono";
import type { Env, H } from "hono/types";
import { z } from "zod";
import type { EndpointDoc } from "../lib/api_docs/mod.ts";
import type { ErrorCode } from "../lib/errors/mod.ts";

/** One endpoint's contract; its error codes must be registered in `lib/errors`. */
export type Endpoint = EndpointDoc & { errors: ErrorCode[] };

/**
 * Registers `handlers` for the declared endpoint's method and path (OpenAPI
 * `{name}` parameters become Hono's `:name`).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { z } from "zod";
 *
 * const app = new Hono();
 * const echo: Endpoint = {
 *   method: "GET",
 *   path: "/api/echo/{word}",
 *   tag: "Demo",
 *   summary: "Echo a word",
 *   description: "Answers with the word.",
 *   auth: "none",
 *   responses: { 200: { description: "The word", body: z.object({ word: z.string() }) } },
 *   errors: [],
 * };
 * serve(app, echo, (c) => c.json({ word: c.req.param("word") }));
 * ```
 */
export function serve(
  app: Hono,
  endpoint: Endpoint,
  // The path is known only at run time: every parameter reads as a string, as Hono's do.
  ...handlers: H<Env, `/:${string}`>[]
): void {
  const path = endpoint.path.replaceAll(/\{([^}]+)\}/g, ":$1");
  app.on(endpoint.method, path, ...(handlers as [H]));
}

/** What reading a JSON body can answer (`readJson` and the app's body limits). */
export const JSON_ERRORS: ErrorCode[] = [
  "invalid_json",
  "invalid_request",
  "body_too_large",
  "body_timeout",
  "body_aborted",
];
/** What `requireApiKey` can answer. */
export const API_KEY_ERRORS: ErrorCode[] = ["missing_api_key", "invalid_api_key"];
/** What `requireUser` can answer. */
export const USER_ERRORS: ErrorCode[] = [
  "missing_token",
  "invalid_token",
  "expired_token",
  "token_revoked",
];
/** What `requireStreamToken` and the connection caps can answer. */
export const STREAM_ERRORS: ErrorCode[] = [
  "missing_token",
  "invalid_token",
  "expired_token",
  "token_used",
  "too_many_connections",
  "token_revoked",
];

/** The curl flag of every JSON example. */
export const JSON_HEADER = "-H 'Content-Type: application/json'";

/** An example's first line: a stream token for `ada` in `$STREAM`. */
export const MINT_STREAM = `STREAM=$(curl -fsS -X POST "$BASE/api/notifications/stream-token" \\
  -H "Authorization: Bearer $TOKEN" | jq -r .token)`;

/**
 * The query of the stream endpoints. They read it with `requireStreamToken()`
 * and `resumePosition()`, not with a zod schema; this is its documentation.
 */
export const streamQuerySchema = z.object({
  token: z.string().optional().describe(
    "A stream token (single-use, ≤ 60 s) or a user token; or send `Authorization: Bearer`, " +
      "or (WebSocket) the subprotocol `token.<token>` next to `switchboard`.",
  ),
  since: z.string().optional().describe(
    "Resume after this cursor (`<epoch>-<offset>`) or bare offset; SSE also takes `Last-Event-ID`. " +
      "Topic, notification and chat streams also take `all`, a duration (`10m`, `2h`) or a " +
      "time (ISO 8601 or 10-digit Unix seconds).",
  ),
});

/**
 * The `strict` query parameter of every WebSocket endpoint (see
 * `refuseAfterUpgrade` in `_ws_refusal.ts`). Any other value is ignored, as it
 * was before the parameter was documented (the signaling query validates with it).
 */
export const strictQueryField = z.string().max(16).optional().describe(
  "`1`: answer a refused connect with its HTTP status before the upgrade (for `curl` and " +
    "backends) instead of the `error` frame and 4xxx close code browsers can read.",
);

/** The query of the WebSocket stream endpoints: the stream query and `strict`. */
export const socketQuerySchema = streamQuerySchema.extend({ strict: strictQueryField });

/**
 * How every WebSocket endpoint refuses a connect, appended to its description
 * (docs/protocol.md, "Refused connections").
 */
export const SOCKET_REFUSAL_NOTE = " A refused connect (bad or spent token, no permission, " +
  "unknown or expired session, channel full, bad query…) is upgraded anyway: the socket gets " +
  "one `error` frame `{code, message}` and is closed with 4000 + the HTTP status the refusal " +
  "has everywhere else (4400, 4401, 4403, 4404, 4409, 4410, 4429, 4503; retry only on 4429 " +
  "and 4503), since browsers cannot read the status of a failed upgrade. `?strict=1` gets the " +
  "HTTP status before the upgrade instead; a request without `Upgrade` gets 426 either way.";

/** The 101 answer of a WebSocket endpoint, refusals included. */
export const SOCKET_SWITCHING =
  "Switching protocols (also for a refused connect without `?strict=1`: one `error` frame, " +
  "then close 4000 + status)";

/** A minted token and when it stops working (`POST /api/tokens` and the stream tokens). */
export const issuedTokenSchema = z.object({
  token: z.string().describe("The signed token (JWT HS256)."),
  expiresAt: z.iso.datetime().describe("When it stops working."),
});

/** A cursor: `<epoch>-<offset>`. */
export const cursorSchema = z.string().describe("`<epoch>-<offset>`: resume after this point.");
