/** Errors of a file-share transfer. */

/** Someone stopped the transfer: this side (`local`) or the other (`peer`). */
export class TransferCanceledError extends Error {
  override name = "TransferCanceledError";
  readonly by: "local" | "peer";

  constructor(by: "local" | "peer", reason: string) {
    super(reason || (by === "local" ? "Canceled" : "Canceled by the other side"));
    this.by = by;
  }
}

/** A request to the Switchboard server failed; `code` is the server's error code. */
export class ShareApiError extends Error {
  override name = "ShareApiError";
  /** HTTP status, or 0 when the request got no answer. */
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.status = status;
    this.code = code;
  }
}
