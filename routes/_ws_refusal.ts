import type { Context } from "hono";
import { ApiError } from "../lib/errors/mod.ts";
import { refusalCloseCode, refuseWebSocket } from "../lib/transport/mod.ts";

/** True when the request asks for a WebSocket upgrade. */
export function isUpgradeRequest(c: Context): boolean {
  return c.req.header("upgrade")?.toLowerCase() === "websocket";
}

/**
 * Wraps a WebSocket route so that its refusals reach browsers: an upgrade
 * request the route refuses with an {@linkcode ApiError} (unknown session, bad
 * token, no permission, channel full, bad query…) is upgraded anyway, gets one
 * `error` frame `{code, message}` and is closed with 4000 + the HTTP status
 * (docs/protocol.md, "Refused connections"). A client that prefers the plain
 * HTTP answer asks with `?strict=1`; a request without `Upgrade` gets it too.
 */
export function refuseAfterUpgrade<C extends Context>(
  handler: (c: C) => Response | Promise<Response>,
): (c: C) => Promise<Response> {
  return async (c) => {
    try {
      return await handler(c);
    } catch (error) {
      if (!(error instanceof ApiError) || !isUpgradeRequest(c) || c.req.query("strict") === "1") {
        throw error;
      }
      try {
        return refuseWebSocket(c.req.raw, {
          code: error.code,
          message: error.message,
          closeCode: refusalCloseCode(error.status),
        });
      } catch {
        // Not an upgrade Deno can complete (a malformed handshake): the HTTP answer it is.
        throw error;
      }
    }
  };
}
