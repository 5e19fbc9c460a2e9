import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { z } from "zod";
import type { AppContext } from "../lib/context.ts";
import { BodyTooLargeError, guardBody } from "../lib/body/mod.ts";
import { ApiError, invalidRequest } from "../lib/errors/mod.ts";
import { JsonDepthError, parseJson } from "../lib/json/mod.ts";
import { trustedOrigin } from "../lib/origin/mod.ts";

/** The body limit of every `/api/*` route that sets none of its own (see {@linkcode bodyLimit}). */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

/** The limits routes declared with {@linkcode bodyLimit} and {@linkcode streamedBody}. */
const routeLimits = new WeakMap<MiddlewareHandler, number | "streamed">();

/**
 * Makes reading this request's body fail with 413 `body_too_large` once it passes
 * `maxBytes` (at once when `Content-Length` says so) and with 408 `body_timeout`
 * after `timeoutMs`, while it streams in.
 */
function guardRequestBody(c: Context, maxBytes: number, timeoutMs: number): void {
  const body = c.req.raw.body;
  if (!body) return;
  if (Number(c.req.header("content-length") ?? "0") > maxBytes) {
    body.cancel().catch(() => {});
    throw new BodyTooLargeError(maxBytes);
  }
  const guarded = guardBody(body, { maxBytes, timeoutMs });
  c.req.raw = new Request(c.req.raw, { body: guarded, duplex: "half" } as RequestInit);
}

/**
 * Route middleware that declares this route's body limit: up to `maxBytes`
 * instead of {@linkcode DEFAULT_BODY_LIMIT_BYTES}. {@linkcode limitBodies} enforces it.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 *
 * const app = new Hono();
 * app.use(limitBodies({ timeoutMs: 30_000 }));
 * app.post("/api/notifications/publish", bodyLimit(100_000), (c) => c.json({ ok: true }));
 * ```
 */
export function bodyLimit(maxBytes: number): MiddlewareHandler {
  const middleware: MiddlewareHandler = (_c, next) => next();
  routeLimits.set(middleware, maxBytes);
  return middleware;
}

/**
 * Route middleware for a route that streams its body and enforces a limit and a
 * timeout of its own while it reads (link-mode uploads): {@linkcode limitBodies}
 * leaves its body alone.
 */
export function streamedBody(): MiddlewareHandler {
  const middleware: MiddlewareHandler = (_c, next) => next();
  routeLimits.set(middleware, "streamed");
  return middleware;
}

/**
 * App middleware: every request body is cut off with 413 `body_too_large` as
 * soon as it passes its route's limit ({@linkcode bodyLimit}, else
 * {@linkcode DEFAULT_BODY_LIMIT_BYTES}) and with 408 `body_timeout` when it has
 * not arrived `timeoutMs` after the request, both while it streams in. Without
 * this a body without `Content-Length` would be read in full before any check.
 */
export function limitBodies(options: { timeoutMs: number }): MiddlewareHandler {
  return async (c, next) => {
    let limit: number | "streamed" = DEFAULT_BODY_LIMIT_BYTES;
    for (const route of matchedRoutes(c)) {
      const declared = routeLimits.get(route.handler);
      if (declared !== undefined) {
        limit = declared;
        break;
      }
    }
    if (limit !== "streamed") guardRequestBody(c, limit, options.timeoutMs);
    await next();
  };
}

/**
 * Reads and validates a JSON body; a bad body is a 400 with the zod issues. Its
 * size and time were limited by {@linkcode limitBodies}.
 */
export async function readJson<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const text = await c.req.text();
  let raw: unknown;
  try {
    raw = text.length ? parseJson(text) : {};
  } catch (error) {
    if (error instanceof JsonDepthError) {
      throw new ApiError(
        "invalid_json",
        `Request body nests objects and arrays deeper than ${error.maxDepth} levels`,
      );
    }
    throw new ApiError("invalid_json", "Request body is not valid JSON");
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw invalidRequest(result.error.issues);
  return result.data;
}

/** Validates query parameters the same way. */
export function readQuery<T extends z.ZodType>(c: Context, schema: T): z.infer<T> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) throw invalidRequest(result.error.issues);
  return result.data;
}

// Keyed by the HonoRequest: `c.req.raw` is replaced when a body limit wraps the body.
const forwardedAddresses = new WeakMap<Context["req"], string>();

/** Records the client address a trusted proxy reported for this request (see `TRUST_PROXY`). */
export function setForwardedAddress(c: Context, address: string): void {
  forwardedAddresses.set(c.req, address);
}

/**
 * The client address for rate limits: the socket's peer, or with `TRUST_PROXY=on`
 * the left-most `X-Forwarded-For` entry set by the reverse proxy.
 */
export function clientAddress(c: Context): string {
  const forwarded = forwardedAddresses.get(c.req);
  if (forwarded) return forwarded;
  const info = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr;
  return info?.hostname ?? "unknown";
}

/**
 * The origin of links to this request (`PUBLIC_URL`, or the request's own when
 * its host is loopback or in `PUBLIC_HOSTS`), or null for any other `Host`.
 */
export function linkOrigin(ctx: AppContext, c: Context): string | null {
  return trustedOrigin(c.req.url, {
    publicUrl: ctx.config.PUBLIC_URL,
    publicHosts: ctx.config.PUBLIC_HOSTS,
  });
}

/**
 * Like {@linkcode linkOrigin}, for answers that must carry an absolute link:
 * 400 `invalid_host` instead of a link to whatever the `Host` header named.
 */
export function publicOrigin(ctx: AppContext, c: Context): string {
  const origin = linkOrigin(ctx, c);
  if (origin !== null) return origin;
  const host = new URL(c.req.url).host.slice(0, 100);
  throw new ApiError(
    "invalid_host",
    `Links are not built for the host "${host}": set PUBLIC_URL, or list the host in PUBLIC_HOSTS`,
  );
}
