/**
 * @module
 * Request bodies read safely: a size limit and a deadline enforced while the body
 * streams in (413 `body_too_large`, 408 `body_timeout`), never after it was read,
 * and a body the client broke off is a 400 `body_aborted`, not a server error.
 *
 * @example
 * ```ts
 * import { guardBody } from "./mod.ts";
 *
 * const request = new Request("http://localhost/", { method: "POST", body: "hello" });
 * const body = guardBody(request.body!, { maxBytes: 64 * 1024, timeoutMs: 30_000 });
 * ```
 */
export { guardBody, type GuardBodyOptions } from "./guard.ts";
export { BodyAbortedError, BodyTimeoutError, BodyTooLargeError } from "./errors.ts";
