/** Errors of the link-mode client. */

/** A request the server refused or that could not be completed. */
export class LinkClientError extends Error {
  override name = "LinkClientError";
  /** HTTP status, or 0 when the request never got an answer. */
  readonly status: number;
  /** The server's error code (`file_too_large`, `expired`, …) or `network_error`. */
  readonly code: string;

  constructor(status: number, code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.status = status;
    this.code = code;
  }

  /** True when trying again may help (network trouble, 5xx, 429). */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/** The ciphertext does not decrypt: the file was changed, cut short, or the key is wrong. */
export class DecryptionError extends Error {
  override name = "DecryptionError";
}

/** An `AbortError` like the one `fetch` throws. */
export function abortError(signal?: AbortSignal): unknown {
  return signal?.reason ?? new DOMException("The operation was aborted", "AbortError");
}
