import type { Context } from "hono";
import type { AppContext } from "../lib/context.ts";
import { ApiError } from "../lib/errors/mod.ts";
import { AuthError, timingSafeEqual, type TokenClaims, verifyToken } from "../lib/identity/mod.ts";

/** The token of `Authorization: Bearer <token>`, or null. */
export function bearer(c: Context): string | null {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * A token offered as the WebSocket subprotocol `token.<token>` (next to
 * `switchboard`): browsers can send it without putting it in the URL, where
 * proxy logs and tracing would keep it.
 */
export function protocolToken(c: Context): string | null {
  const offered = c.req.header("sec-websocket-protocol") ?? "";
  for (const protocol of offered.split(",")) {
    const trimmed = protocol.trim();
    if (trimmed.startsWith("token.")) return trimmed.slice("token.".length);
  }
  return null;
}

/** True when the request carries the API key. */
export function hasApiKey(c: Context, ctx: AppContext): boolean {
  const token = bearer(c);
  return token !== null && timingSafeEqual(token, ctx.secrets.apiKey);
}

/** Requires `Authorization: Bearer <API key>`; 401 otherwise. */
export function requireApiKey(c: Context, ctx: AppContext): void {
  if (!bearer(c)) {
    throw new ApiError("missing_api_key", "This endpoint needs the API key as a Bearer token");
  }
  if (!hasApiKey(c, ctx)) throw new ApiError("invalid_api_key", "The API key is not valid");
}

/**
 * With `METRICS_TOKEN` set, requires `Authorization: Bearer <METRICS_TOKEN>` (401
 * otherwise); without it, anyone may scrape.
 */
export function requireMetricsToken(c: Context, ctx: Pick<AppContext, "config">): void {
  const expected = ctx.config.METRICS_TOKEN;
  if (expected === undefined) return;
  const challenge = { headers: { "WWW-Authenticate": 'Bearer realm="metrics"' } };
  const token = bearer(c);
  if (!token) {
    throw new ApiError("missing_token", "Send the metrics token as a Bearer token", challenge);
  }
  if (!timingSafeEqual(token, expected)) {
    throw new ApiError("invalid_token", "The metrics token is not valid", challenge);
  }
}

/**
 * Requires a user or guest token in `Authorization: Bearer` that was not
 * revoked (one KV read); 401 otherwise.
 */
export async function requireUser(c: Context, ctx: AppContext): Promise<TokenClaims> {
  const claims = await verifyToken(ctx.secrets.secret, bearer(c));
  if (claims.kind === "stream") {
    throw new AuthError("invalid_token", "A stream token only opens a stream");
  }
  await ctx.tokens.assertNotRevoked(claims);
  return claims;
}

/**
 * Authenticates a stream request before upgrade: `?token=` (browsers cannot set
 * headers on EventSource/WebSocket), `Authorization: Bearer`, or the WebSocket
 * subprotocol `token.<token>`. Stream tokens are single-use; user and guest
 * tokens are accepted too.
 */
export async function requireStreamToken(c: Context, ctx: AppContext): Promise<TokenClaims> {
  const { claims, confirm } = await readStreamToken(c, ctx);
  await confirm();
  return claims;
}

/** A stream token whose signature is verified and whose KV checks are still to run. */
export interface PendingStreamToken {
  claims: TokenClaims;
  /**
   * Spends a stream token and checks that the user's tokens were not revoked (one
   * KV round trip); rejects with a 401 {@linkcode ApiError}. Call it once.
   */
  confirm(): Promise<void>;
}

/**
 * {@linkcode requireStreamToken} in two halves, for routes that have KV reads of
 * their own: the signature and expiry now (no I/O, 401 if bad), the KV checks in
 * `confirm()`, which the route runs alongside its reads and awaits before it
 * accepts the connection.
 */
export async function readStreamToken(c: Context, ctx: AppContext): Promise<PendingStreamToken> {
  const token = c.req.query("token") ?? bearer(c) ?? protocolToken(c);
  const claims = await verifyToken(ctx.secrets.secret, token);
  return { claims, confirm: () => ctx.tokens.confirm(claims) };
}
