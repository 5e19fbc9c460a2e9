/**
 * @module
 * The in-process tier's server: {@linkcode startServer} on `:memory:` KV, no
 * island build; requests go through `app.request()`, or through `Deno.serve` on
 * port 0 where a test needs WebSockets.
 */
import { type Server, startServer, type StartServerOptions } from "../../server.ts";
import type { IslandManifest } from "../../lib/islands/mod.ts";

/** The API key of every in-process server. */
export const API_KEY = "sb_test_api_key_0123456789abcdef";

/** No islands: the in-process tier tests the HTTP API, not the pages' scripts. */
const NO_ISLANDS: IslandManifest = { sourceHash: "none", islands: {}, files: [] };

/**
 * Starts an isolate on `:memory:` KV; `env` adds or overrides variables, and
 * `options.clock` sets the live-transfer job's clock.
 */
export function startInProcess(
  env: Record<string, string> = {},
  options: Pick<StartServerOptions, "clock"> = {},
): Promise<Server> {
  return startServer({
    KV_PATH: ":memory:",
    LOG_LEVEL: "error",
    SWITCHBOARD_API_KEY: API_KEY,
    BROADCAST_CHANNEL: "off",
    ...env,
  }, { manifest: NO_ISLANDS, isolate: "inproc", ...options });
}

/**
 * A JSON request's init: method, body and optional bearer token. A string or a
 * stream is sent as it is (bad JSON, bodies that stall); anything else as JSON.
 */
export function json(
  method: string,
  body: unknown,
  bearer?: string,
): RequestInit {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const raw = typeof body === "string" || body instanceof ReadableStream;
  return { method, headers, body: raw ? body : JSON.stringify(body) };
}

/** The `error.code` of an error response, after checking its status. */
export async function errorCode(response: Response): Promise<string> {
  const body = await response.json() as { error?: { code?: string; message?: string } };
  if (typeof body.error?.code !== "string" || typeof body.error.message !== "string") {
    throw new Error(`not an error envelope: ${JSON.stringify(body)}`);
  }
  return body.error.code;
}
