/**
 * For unit tests only: two connected in-memory data channels that behave like
 * `RTCDataChannel` where the protocol can tell: messages are copied and
 * delivered in order, asynchronously; `bufferedAmount` grows on `send` and
 * drains at a fixed rate; `bufferedamountlow` fires on crossing the threshold;
 * like Chromium, a channel whose buffer passes 16 MiB is closed.
 */
import type { DataChannelLike } from "./channel.ts";

/** Chromium closes a data channel whose send buffer passes this. */
const CHROMIUM_SEND_BUFFER_LIMIT = 16 * 1024 * 1024;

/** One end. */
export class FakeChannel extends EventTarget implements DataChannelLike {
  readyState: DataChannelLike["readyState"] = "open";
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  /** Largest `bufferedAmount` seen. */
  maxBuffered = 0;
  /** Every message sent from this end (strings as is, binary as byte counts). */
  sentLog: (string | number)[] = [];
  peer: FakeChannel | null = null;
  /** Changes a binary message in flight (tests of damaged data). */
  tamper: ((bytes: Uint8Array, index: number) => void) | null = null;
  #queue: { data: string | ArrayBuffer; size: number }[] = [];
  #binaryCount = 0;
  #scheduled = false;
  #bytesPerTick: number;

  constructor(options: { bytesPerTick?: number } = {}) {
    super();
    this.#bytesPerTick = options.bytesPerTick ?? 1024 * 1024;
  }

  send(data: string | ArrayBufferView<ArrayBuffer> | ArrayBuffer): void {
    if (this.readyState !== "open") throw new DOMException("not open", "InvalidStateError");
    let copy: string | ArrayBuffer;
    let size: number;
    if (typeof data === "string") {
      copy = data;
      size = new TextEncoder().encode(data).byteLength;
      this.sentLog.push(data);
    } else {
      const view = data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const bytes = view.slice();
      this.tamper?.(bytes, this.#binaryCount);
      this.#binaryCount++;
      copy = bytes.buffer;
      size = bytes.byteLength;
      this.sentLog.push(size);
    }
    this.#queue.push({ data: copy, size });
    this.bufferedAmount += size;
    this.maxBuffered = Math.max(this.maxBuffered, this.bufferedAmount);
    if (this.bufferedAmount > CHROMIUM_SEND_BUFFER_LIMIT) {
      this.close();
      throw new DOMException("send queue is full", "OperationError");
    }
    this.#schedule();
  }

  /** Closes both ends (like a dropped connection). */
  close(): void {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    // Like a browser's, `bufferedAmount` keeps what never left.
    this.#queue = [];
    setTimeout(() => this.dispatchEvent(new Event("close")), 0);
    this.peer?.close();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => this.#drain(), 0);
  }

  #drain(): void {
    this.#scheduled = false;
    let budget = this.#bytesPerTick;
    while (this.#queue.length && budget > 0 && this.readyState === "open") {
      const item = this.#queue.shift()!;
      budget -= item.size;
      const before = this.bufferedAmount;
      this.bufferedAmount -= item.size;
      if (before > this.bufferedAmountLowThreshold) {
        if (this.bufferedAmount <= this.bufferedAmountLowThreshold) {
          this.dispatchEvent(new Event("bufferedamountlow"));
        }
      }
      this.peer?.dispatchEvent(new MessageEvent("message", { data: item.data }));
    }
    if (this.#queue.length) this.#schedule();
  }

  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null | ((event: MessageEvent) => void),
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener as EventListener, options);
  }

  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null | ((event: MessageEvent) => void),
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener as EventListener, options);
  }
}

/** Two connected ends. */
export function fakeChannelPair(options: { bytesPerTick?: number } = {}): [
  FakeChannel,
  FakeChannel,
] {
  const a = new FakeChannel(options);
  const b = new FakeChannel(options);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
