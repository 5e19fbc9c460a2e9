import { ApiError, type ErrorIssue } from "../errors/mod.ts";

/** Documented error codes of the notification API. */
export type NotificationErrorCode =
  | "unknown_type"
  | "invalid_data"
  | "data_too_large"
  | "invalid_user"
  | "too_many_recipients"
  | "invalid_cursor"
  | "notification_not_found";

/** A notification request was refused; its code gives its HTTP status. */
export class NotificationError extends ApiError {
  override name = "NotificationError";
  declare readonly code: NotificationErrorCode;

  constructor(
    code: NotificationErrorCode,
    message: string,
    /** `issues`: zod-style problems, for `invalid_data` and `unknown_type`. */
    options: { issues?: ErrorIssue[]; cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}
