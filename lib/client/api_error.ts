/**
 * The one error a browser-side call to the Switchboard API rejects with, and
 * the one reader of the API's error envelope `{"error":{"code","message"}}`.
 */

/** One problem with a request body, as some errors list them (`error.issues`). */
export interface ApiIssue {
  path: string;
  message: string;
}

/**
 * A request the server refused, or one that never got an answer (`status` 0,
 * `code` `network_error`). `code` is the server's documented snake_case code.
 *
 * @example
 * ```ts
 * import { apiFetch } from "./api_fetch.ts";
 * declare const code: string, showNotFound: () => void;
 * try {
 *   await apiFetch("/api/transfer/join", { method: "POST", json: { code } });
 * } catch (error) {
 *   if (error instanceof ApiClientError && error.code === "session_not_found") showNotFound();
 * }
 * ```
 */
export class ApiClientError extends Error {
  override name = "ApiClientError";
  /** HTTP status, or 0 when the request got no answer. */
  readonly status: number;
  /** The server's code (`session_not_found`, `expired`, …), `network_error` or `http_error`. */
  readonly code: string;
  /** Every problem of the request body, when the server listed them; else empty. */
  readonly issues: readonly ApiIssue[];

  constructor(
    status: number,
    code: string,
    message: string,
    options: { cause?: unknown; issues?: readonly ApiIssue[] } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = status;
    this.code = code;
    this.issues = options.issues ?? [];
  }

  /** True when trying again may help (no answer, 5xx, 429). */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

function issuesOf(value: unknown): ApiIssue[] {
  if (!Array.isArray(value)) return [];
  return value.filter((issue): issue is ApiIssue =>
    typeof issue?.path === "string" && typeof issue?.message === "string"
  );
}

/**
 * The error a failed response's body text describes: its envelope's code and
 * message, or `http_error` when the body is not the envelope (a proxy's page).
 *
 * @example
 * ```ts
 * parseApiError(410, '{"error":{"code":"expired","message":"This link has expired"}}').code;
 * // "expired"
 * ```
 */
export function parseApiError(status: number, text: string): ApiClientError {
  let envelope: unknown = null;
  try {
    envelope = JSON.parse(text);
  } catch { /* not JSON: described by its status */ }
  const error = (envelope as { error?: { code?: unknown; message?: unknown; issues?: unknown } })
    ?.error;
  if (typeof error?.code === "string" && typeof error.message === "string") {
    return new ApiClientError(status, error.code, error.message, {
      issues: issuesOf(error.issues),
    });
  }
  return new ApiClientError(status, "http_error", `The server answered ${status}`);
}

/** The error a failed response describes (reads its body). */
export async function apiErrorOf(response: Response): Promise<ApiClientError> {
  const text = await response.text().catch(() => "");
  return parseApiError(response.status, text);
}
