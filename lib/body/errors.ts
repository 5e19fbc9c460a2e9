/**
 * Errors of request bodies. Each one is an {@linkcode ApiError}, so a route can let
 * it through and the app renders `{"error":{"code","message"}}` with its status.
 */
import { ApiError } from "../errors/mod.ts";

/** 413 `body_too_large`: the body passed the endpoint's limit (declared or while it streamed in). */
export class BodyTooLargeError extends ApiError {
  override name = "BodyTooLargeError";
  constructor(maxBytes: number) {
    super(413, "body_too_large", `Request body is larger than ${maxBytes} bytes`);
  }
}

/** 408 `body_timeout`: the body did not arrive in time (the client stalled). */
export class BodyTimeoutError extends ApiError {
  override name = "BodyTimeoutError";
  constructor(timeoutMs: number) {
    super(
      408,
      "body_timeout",
      `Request body did not arrive within ${timeoutMs / 1000} s`,
      // The request cannot continue on this connection: its body was not read to the end.
      { headers: { Connection: "close" } },
    );
  }
}
