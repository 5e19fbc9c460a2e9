/**
 * The key confirmation on the data channel: before the file-share protocol
 * starts, each side sends one text message `{"type":"pairing-confirm","code"}`
 * (the sender first; the receiver answers once it checked the sender's and is
 * listening for the manifest). Codes cover the DTLS fingerprints each browser
 * saw, so a connection that is not the paired one is refused before a byte of
 * a file moves.
 */
import { ChannelClosedError, type DataChannelLike } from "../channel.ts";

/** The message type of a confirmation. */
export const CONFIRM_MESSAGE = "pairing-confirm";

/** The text message carrying `code`. */
export function confirmMessage(code: string): string {
  return JSON.stringify({ type: CONFIRM_MESSAGE, code });
}

/**
 * Resolves with the code of the first message on `channel`, or null when that
 * message is not a confirmation. Listens from the call on (call it as soon as
 * the channel opens, before awaiting anything); rejects with
 * {@linkcode ChannelClosedError} when the channel closes first.
 */
export function firstConfirmation(channel: DataChannelLike): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      channel.removeEventListener("message", onMessage);
      channel.removeEventListener("close", onClose);
    };
    const onMessage = (event: MessageEvent) => {
      cleanup();
      try {
        const message = typeof event.data === "string" ? JSON.parse(event.data) : null;
        resolve(
          message?.type === CONFIRM_MESSAGE && typeof message.code === "string" &&
            message.code.length <= 64
            ? message.code
            : null,
        );
      } catch {
        resolve(null);
      }
    };
    const onClose = () => {
      cleanup();
      reject(new ChannelClosedError("The connection to the other browser closed"));
    };
    channel.addEventListener("message", onMessage);
    channel.addEventListener("close", onClose);
    if (channel.readyState !== "open") onClose();
  });
}
