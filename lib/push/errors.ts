/** The wire codes of push errors (documented in routes/api_catalog.ts). */
export type PushErrorCode =
  | "push_endpoint_not_allowed"
  | "invalid_push_subscription"
  | "push_subscription_not_found";

/**
 * A push request that cannot be served, with its wire code, e.g.
 * `Cannot subscribe: "10.0.0.5" is not a known push service`.
 */
export class PushError extends Error {
  override name = "PushError";
  readonly code: PushErrorCode;

  constructor(code: PushErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
