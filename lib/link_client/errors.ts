/** Errors of the link-mode client. Refused and failed requests are `ApiClientError`s of `lib/client`. */

/** Another name of `ApiClientError` (`lib/client`), kept for callers that use it. */
export { ApiClientError as LinkClientError } from "../client/api_error.ts";

/** The ciphertext does not decrypt: the file was changed, cut short, or the key is wrong. */
export class DecryptionError extends Error {
  override name = "DecryptionError";
}

/** An `AbortError` like the one `fetch` throws. */
export function abortError(signal?: AbortSignal): unknown {
  return signal?.reason ?? new DOMException("The operation was aborted", "AbortError");
}
