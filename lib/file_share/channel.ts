/**
 * What the file-share protocol needs from an `RTCDataChannel`, so the protocol
 * can run (and be tested) against any object of that shape, and the
 * backpressure rule both ends of the protocol share.
 */

/** The part of `RTCDataChannel` the protocol uses. */
export interface DataChannelLike {
  readonly readyState: "connecting" | "open" | "closing" | "closed";
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  send(data: string | ArrayBufferView<ArrayBuffer> | ArrayBuffer): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  addEventListener(type: "bufferedamountlow" | "close" | "error", listener: () => void): void;
  removeEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  removeEventListener(type: "bufferedamountlow" | "close" | "error", listener: () => void): void;
}

/** Default bytes per binary message: 64 KiB, the size every WebRTC stack accepts. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;
/**
 * Default high-water mark of the send buffer: sending pauses above it. Chromium
 * closes a data channel whose buffer passes 16 MiB, so this stays well under.
 */
export const DEFAULT_HIGH_WATER_BYTES = 8 * 1024 * 1024;
/** Default low-water mark: sending resumes when the buffer drains below it. */
export const DEFAULT_LOW_WATER_BYTES = 2 * 1024 * 1024;

/** The channel closed before the protocol finished. */
export class ChannelClosedError extends Error {
  override name = "ChannelClosedError";
}

/**
 * Resolves when `channel` has room for `bytes` more under `highWater`: at once
 * when it has, otherwise at its next `bufferedamountlow` event (set
 * `bufferedAmountLowThreshold` to the low-water mark first). Rejects when the
 * channel closes or `signal` aborts.
 */
export function waitForRoom(
  channel: DataChannelLike,
  bytes: number,
  options: { highWater: number; signal?: AbortSignal },
): Promise<void> {
  if (options.signal?.aborted) return Promise.reject(options.signal.reason);
  if (channel.readyState !== "open") {
    return Promise.reject(new ChannelClosedError("The connection to the other browser closed"));
  }
  if (
    channel.bufferedAmount + bytes <= options.highWater ||
    // The low event fires only on crossing the threshold: never wait for one already passed.
    channel.bufferedAmount <= channel.bufferedAmountLowThreshold
  ) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      channel.removeEventListener("bufferedamountlow", onLow);
      channel.removeEventListener("close", onClose);
      options.signal?.removeEventListener("abort", onAbort);
    };
    const onLow = () => {
      cleanup();
      resolve();
    };
    const onClose = () => {
      cleanup();
      reject(new ChannelClosedError("The connection to the other browser closed"));
    };
    const onAbort = () => {
      cleanup();
      reject(options.signal!.reason);
    };
    channel.addEventListener("bufferedamountlow", onLow);
    channel.addEventListener("close", onClose);
    options.signal?.addEventListener("abort", onAbort, { once: true });
  });
}
