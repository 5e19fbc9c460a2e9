/** Errors of a file-share transfer. (A refused request is `lib/client`'s `ApiClientError`.) */

/** Someone stopped the transfer: this side (`local`) or the other (`peer`). */
export class TransferCanceledError extends Error {
  override name = "TransferCanceledError";
  readonly by: "local" | "peer";

  constructor(by: "local" | "peer", reason: string) {
    super(reason || (by === "local" ? "Canceled" : "Canceled by the other side"));
    this.by = by;
  }
}
