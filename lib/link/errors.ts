/**
 * Link-mode errors. Each one is an {@linkcode ApiError}, so a route can let it
 * through and the app renders `{"error":{"code","message"}}` with its status.
 */
import { ApiError } from "../errors/mod.ts";
import { storageFullMessage, type StorageKind } from "../storage_budget/mod.ts";

/** 413 `file_too_large`: the body passed the upload cap while it streamed in. */
export class FileTooLargeError extends ApiError {
  override name = "FileTooLargeError";
  constructor(maxBytes: number) {
    super("file_too_large", `File is larger than the limit of ${maxBytes} bytes`);
  }
}

/** 507 `storage_full`: the server's budget for this kind of data is used up for now. */
export class StorageFullError extends ApiError {
  override name = "StorageFullError";
  constructor(kind: StorageKind) {
    super("storage_full", storageFullMessage(kind));
  }
}

/** 400 `upload_aborted`: the client stopped sending before the body was complete. */
export class UploadAbortedError extends ApiError {
  override name = "UploadAbortedError";
  constructor(options: { cause?: unknown } = {}) {
    super("upload_aborted", "Upload was aborted before the file was complete", options);
  }
}

/** 503 `upload_interrupted`: the store gave up on this upload (stale or cleaned up); retry it. */
export class UploadInterruptedError extends ApiError {
  override name = "UploadInterruptedError";
  constructor(id: string) {
    super("upload_interrupted", `Upload "${id}" was interrupted, try again`);
  }
}

/** 400 `invalid_filename`: no usable file name after cleaning. */
export class InvalidFilenameError extends ApiError {
  override name = "InvalidFilenameError";
  constructor(reason: string) {
    super("invalid_filename", `Invalid file name: ${reason}`);
  }
}

/** 400 `invalid_multipart`: a multipart body that cannot be read. */
export class MultipartError extends ApiError {
  override name = "MultipartError";
  constructor(reason: string) {
    super("invalid_multipart", `Cannot read the multipart body: ${reason}`);
  }
}

/** 404 `not_found`: no such file (never uploaded, or gone long ago). */
export class FileNotFoundError extends ApiError {
  override name = "FileNotFoundError";
  constructor(id: string) {
    super("not_found", `File "${id}" does not exist`);
  }
}

/** Why a file can no longer be downloaded. */
export type GoneReason = "expired" | "consumed" | "deleted";

const GONE_MESSAGES: Record<GoneReason, string> = {
  expired: "has expired",
  consumed: "has reached its download limit",
  deleted: "was deleted by its owner",
};

/** 410 `expired`: the file existed but is gone (expired, download limit reached, or deleted). */
export class FileGoneError extends ApiError {
  override name = "FileGoneError";
  readonly reason: GoneReason;
  constructor(id: string, reason: GoneReason) {
    super("expired", `File "${id}" ${GONE_MESSAGES[reason]}`);
    this.reason = reason;
  }
}

/** 403 `wrong_delete_token`: the delete token does not match. */
export class WrongDeleteTokenError extends ApiError {
  override name = "WrongDeleteTokenError";
  constructor(id: string) {
    super("wrong_delete_token", `Cannot delete file "${id}": wrong delete token`);
  }
}
