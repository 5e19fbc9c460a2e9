/** JSON requests to the Switchboard API from the browser; errors are `ApiClientError`s. */
import { ApiClientError, apiErrorOf } from "./api_error.ts";

/** Options of {@linkcode apiFetch}. */
export interface ApiFetchOptions {
  /** Default "GET". */
  method?: string;
  /** A body to send as JSON (with `Content-Type: application/json`). None by default. */
  json?: unknown;
  /** Sent as `Authorization: Bearer <token>`. None by default. */
  token?: string;
  /** More request headers. */
  headers?: Record<string, string>;
  /** Cancels the request; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Default the browser's ("same-origin"); "include" for a cross-origin URL that needs cookies. */
  credentials?: RequestCredentials;
  /** The `fetch` to use. Default `globalThis.fetch` (tests pass their own). */
  fetch?: typeof fetch;
}

/**
 * Calls the API and returns its JSON answer (`undefined` for an empty one).
 * Rejects with {@linkcode ApiClientError}: the server's `{error:{code,message}}`
 * for a refused request, `network_error` (status 0) when there was no answer,
 * `invalid_response` when a successful answer is not JSON.
 *
 * @example
 * ```ts
 * declare const token: string;
 * const { messages } = await apiFetch<{ messages: unknown[] }>(
 *   "/api/channels/lobby/messages?limit=50",
 *   { token },
 * );
 * await apiFetch("/api/auth/guest", { method: "POST", json: { name: "Ada" } });
 * ```
 */
export async function apiFetch<T>(url: string, options: ApiFetchOptions = {}): Promise<T> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.json !== undefined) headers["Content-Type"] = "application/json";
  if (options.token !== undefined) headers["Authorization"] = `Bearer ${options.token}`;
  const init: RequestInit = { method: options.method ?? "GET", headers };
  if (options.json !== undefined) init.body = JSON.stringify(options.json);
  if (options.signal) init.signal = options.signal;
  if (options.credentials) init.credentials = options.credentials;
  let response: Response;
  try {
    response = await (options.fetch ?? globalThis.fetch)(url, init);
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new ApiClientError(0, "network_error", "The server cannot be reached", { cause: error });
  }
  if (!response.ok) throw await apiErrorOf(response);
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new ApiClientError(0, "network_error", "The answer was cut off", { cause: error });
  }
  if (text === "") return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new ApiClientError(
      response.status,
      "invalid_response",
      "The server's answer is not JSON",
      { cause: error },
    );
  }
}
