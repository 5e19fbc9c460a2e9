/**
 * Errors of request bodies. Each one is an {@linkcode ApiError}, so a route can let
 * it through and the app renders `{"error":{"code","message"}}` with its status.
 */
import { ApiError } from "../errors/mod.ts";

// The rest of an unread body cannot be told from a next request: the connection must end.
const CLOSE = { Connection: "close" };

/** 413 `body_too_large`: the body passed the endpoint's limit (declared or while it streamed in). */
export class BodyTooLargeError extends ApiError {
  override name = "BodyTooLargeError";
  constructor(maxBytes: number) {
    super("body_too_large", `Request body is larger than ${maxBytes} bytes`, {
      headers: CLOSE,
    });
  }
}

/** 400 `body_aborted`: the client went away (or broke the framing) before the body was complete. */
export class BodyAbortedError extends ApiError {
  override name = "BodyAbortedError";
  constructor(options: { cause?: unknown } = {}) {
    super("body_aborted", "Request body ended before it was complete", {
      cause: options.cause,
      headers: CLOSE,
    });
  }
}

/** 408 `body_timeout`: the body did not arrive in time (the client stalled). */
export class BodyTimeoutError extends ApiError {
  override name = "BodyTimeoutError";
  constructor(timeoutMs: number) {
    super(
      "body_timeout",
      `Request body did not arrive within ${timeoutMs / 1000} s`,
      { headers: CLOSE },
    );
  }
}
