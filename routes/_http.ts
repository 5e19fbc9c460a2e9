import type { Context } from "hono";
import type { z } from "zod";
import type { AppContext } from "../lib/context.ts";
import { ApiError, invalidRequest } from "../lib/errors/mod.ts";
import { trustedOrigin } from "../lib/origin/mod.ts";

/** Reads and validates a JSON body; a bad body is a 400 with the zod issues. */
export async function readJson<T extends z.ZodType>(
  c: Context,
  schema: T,
  options: { maxBytes?: number } = {},
): Promise<z.infer<T>> {
  const maxBytes = options.maxBytes ?? 64 * 1024;
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > maxBytes) {
    throw new ApiError(413, "body_too_large", `Request body is larger than ${maxBytes} bytes`);
  }
  const text = await c.req.text();
  if (new TextEncoder().encode(text).byteLength > maxBytes) {
    throw new ApiError(413, "body_too_large", `Request body is larger than ${maxBytes} bytes`);
  }
  let raw: unknown;
  try {
    raw = text.length ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(400, "invalid_json", "Request body is not valid JSON");
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

const forwardedAddresses = new WeakMap<Request, string>();

/** Records the client address a trusted proxy reported for this request (see `TRUST_PROXY`). */
export function setForwardedAddress(c: Context, address: string): void {
  forwardedAddresses.set(c.req.raw, address);
}

/**
 * The client address for rate limits: the socket's peer, or with `TRUST_PROXY=on`
 * the left-most `X-Forwarded-For` entry set by the reverse proxy.
 */
export function clientAddress(c: Context): string {
  const forwarded = forwardedAddresses.get(c.req.raw);
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
    400,
    "invalid_host",
    `Links are not built for the host "${host}": set PUBLIC_URL, or list the host in PUBLIC_HOSTS`,
  );
}
