/** Documented error codes of the notification API. */
export type NotificationErrorCode =
  | "unknown_type"
  | "invalid_data"
  | "data_too_large"
  | "invalid_user"
  | "too_many_recipients"
  | "invalid_cursor"
  | "notification_not_found";

/** A notification request was refused; routes map `code` to an HTTP status. */
export class NotificationError extends Error {
  override name = "NotificationError";
  readonly code: NotificationErrorCode;
  /** Zod-style issues for `invalid_data` and `unknown_type`. */
  readonly issues: { path: string; message: string }[];

  constructor(
    code: NotificationErrorCode,
    message: string,
    options: { issues?: { path: string; message: string }[]; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.issues = options.issues ?? [];
  }
}
