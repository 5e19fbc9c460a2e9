import { ApiError } from "../errors/mod.ts";

/** The wire codes of push errors (registered with their statuses in lib/errors/codes.ts). */
export type PushErrorCode =
  | "push_endpoint_not_allowed"
  | "invalid_push_subscription"
  | "push_subscription_not_found";

/**
 * A push request that cannot be served, with its wire code, e.g.
 * `Cannot subscribe: "10.0.0.5" is not a known push service`; its code gives
 * its HTTP status.
 */
export class PushError extends ApiError {
  override name = "PushError";
  declare readonly code: PushErrorCode;

  constructor(code: PushErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}
