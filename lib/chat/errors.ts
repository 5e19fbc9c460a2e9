import type { ChatErrorCode } from "./protocol.ts";

/** A chat operation was refused; `code` is the documented wire code. */
export class ChatError extends Error {
  override name = "ChatError";
  readonly code: ChatErrorCode;

  constructor(code: ChatErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
