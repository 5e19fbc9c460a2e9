/**
 * @module
 * The errors of the API: the registry of codes ({@linkcode ERROR_CODES}, each
 * with its HTTP status and meaning) and {@linkcode ApiError}, the one error type
 * that carries a code. Domain errors (transfer, notifications, tokens, topics,
 * uploads, bodies) extend it, so they reach HTTP one way: the app's error
 * handler renders any `ApiError` as `{"error":{"code","message"}}` with the
 * status the registry gives its code.
 */
import { type ErrorCode, errorStatus } from "./codes.ts";

export { ERROR_CODES, type ErrorCode, type ErrorCodeDoc, errorStatus } from "./codes.ts";

/** One problem of a body, as `issues` in the error body lists it. */
export interface ErrorIssue {
  path: string;
  message: string;
}

/** Options of {@linkcode ApiError}. */
export interface ApiErrorOptions {
  cause?: unknown;
  /** Response headers (e.g. `Retry-After`). Default none. */
  headers?: Record<string, string>;
  /** Problems listed as `issues` in the body (e.g. a notification's invalid `data`). Default none. */
  issues?: ErrorIssue[];
  /**
   * A status other than the registry's, for a page (not an API endpoint) that
   * answers with a code. Default: the code's status in {@linkcode ERROR_CODES}.
   */
  status?: number;
}

/**
 * An error with a registered snake_case code; its HTTP status comes from the
 * registry.
 *
 * @example
 * ```ts
 * const error = new ApiError("session_not_found", 'No transfer session "ABC123"');
 * error.status; // 404
 * error.toJSON(); // { error: { code: "session_not_found", message: 'No transfer session "ABC123"' } }
 * ```
 */
export class ApiError extends Error {
  override name = "ApiError";
  readonly status: number;
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;
  readonly issues: ErrorIssue[];

  constructor(code: ErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = options.status ?? errorStatus(code);
    this.headers = options.headers ?? {};
    this.issues = options.issues ?? [];
  }

  /** The JSON body of this error; `issues` only when there are some. */
  toJSON(): { error: { code: string; message: string; issues?: ErrorIssue[] } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.issues.length ? { issues: this.issues } : {}),
      },
    };
  }
}

/** A zod-style issue list rendered into one readable sentence. */
export function describeIssues(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): string {
  return issues.slice(0, 5).map((issue) => {
    const path = issue.path.map(String).join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  }).join("; ");
}

/** 400 `invalid_request` built from zod issues. */
export function invalidRequest(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): ApiError {
  return new ApiError("invalid_request", describeIssues(issues));
}
