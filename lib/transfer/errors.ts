/** Errors of transfer sessions, each with the HTTP status and wire code the API answers with. */

/** Why an operation on a session was refused. */
export type TransferErrorCode =
  | "session_not_found"
  | "session_already_joined"
  | "session_expired"
  | "session_closed"
  | "invalid_transfer_token"
  | "code_space_exhausted";

const STATUS: Record<TransferErrorCode, number> = {
  session_not_found: 404,
  session_already_joined: 409,
  session_expired: 410,
  session_closed: 410,
  invalid_transfer_token: 403,
  code_space_exhausted: 503,
};

/** A refused operation on a transfer session. */
export class TransferError extends Error {
  override name = "TransferError";
  readonly code: TransferErrorCode;
  /** The HTTP status the API answers with. */
  readonly status: number;

  constructor(code: TransferErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.code = code;
    this.status = STATUS[code];
  }
}
