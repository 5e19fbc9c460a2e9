/** Errors of transfer sessions, each with its registered code (which gives its HTTP status). */
import { ApiError } from "../errors/mod.ts";

/** Why an operation on a session was refused. */
export type TransferErrorCode =
  | "session_not_found"
  | "session_already_joined"
  | "session_expired"
  | "session_closed"
  | "invalid_transfer_token"
  | "code_space_exhausted";

/** A refused operation on a transfer session. */
export class TransferError extends ApiError {
  override name = "TransferError";
  declare readonly code: TransferErrorCode;

  constructor(code: TransferErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}
