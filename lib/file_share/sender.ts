/** The sending end of the file-share protocol over a data channel. */
import {
  ChannelClosedError,
  type DataChannelLike,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_HIGH_WATER_BYTES,
  DEFAULT_LOW_WATER_BYTES,
  waitForRoom,
} from "./channel.ts";
import { TransferCanceledError } from "./errors.ts";
import {
  type CompleteMessage,
  type ControlMessage,
  encodeControlMessage,
  MAX_CHUNK_BYTES,
  MIN_CHUNK_BYTES,
  parseControlMessage,
  PROTOCOL_VERSION,
  ProtocolError,
  type ResumeMessage,
} from "./messages.ts";
import { Sha256 } from "./sha256.ts";

/**
 * Bytes in flight beyond the receiver's stored point: bounds what a reload of
 * the receive page loses, and the receiver's write backlog. At 100 ms round
 * trip it allows ~20 MB/s.
 */
export const DEFAULT_STORED_WINDOW_BYTES = 2 * 1024 * 1024;

/** A file to send. */
export interface OutgoingFile {
  blob: Blob;
  name: string;
  /** Media type; default `blob.type`. */
  type?: string;
  /** SHA-256 (hex) when already known: it goes into the manifest. */
  sha256?: string | null;
}

/** Options of {@linkcode FileSender}. */
export interface FileSenderOptions {
  /** Bytes per binary message, 16–256 KiB. Default 64 KiB. */
  chunkBytes?: number;
  /** Sending pauses while more than this is buffered. Default 8 MiB. */
  highWaterBytes?: number;
  /** …and resumes below this. Default 2 MiB. */
  lowWaterBytes?: number;
  /**
   * Bytes sent at most beyond what the receiver said it stored. Default
   * {@linkcode DEFAULT_STORED_WINDOW_BYTES}.
   */
  storedWindowBytes?: number;
  /** Bytes read from the file at a time (rounded to whole chunks). Default 1 MiB. */
  readBytes?: number;
  /** Aborting sends `cancel` to the peer; `run()` rejects with the reason. */
  signal?: AbortSignal;
  /** The receiver verified file `index`. */
  onVerified?(index: number, sha256: string): void;
  /** The receiver found file `index` damaged or could not store it. */
  onFailed?(index: number, code: string, message: string): void;
  /** File `index` was handed to the channel completely; its SHA-256. */
  onFileSent?(index: number, sha256: string): void;
  /**
   * The receiver said what it already holds (its answer to the manifest): the
   * files it verified are not sent again, and file `resume.index` continues at
   * `resume.offset` when `prefixMatched` (this side's bytes before it hash to
   * the receiver's SHA-256); otherwise that file starts over.
   */
  onResume?(resume: ResumeMessage, prefixMatched: boolean): void;
}

/** How a transfer ended. */
export interface SendResult {
  verified: number[];
  failed: number[];
}

/**
 * Sends files over an open data channel: a `manifest`, waits for the
 * receiver's `resume` (what it already holds), then per file not yet there
 * `file-start`, its bytes in chunks (from the resume offset when the
 * receiver's prefix hash matches), `file-end` with the SHA-256 of the whole
 * file; then `done`, and waits for the receiver's `complete`. Sending pauses while the channel's
 * buffer is above the high-water mark, so memory stays flat for any file size.
 *
 * @example
 * ```ts
 * declare const channel: RTCDataChannel; // open, from PeerLink's onOpen
 * const file = new File(["hello"], "hello.txt", { type: "text/plain" });
 * const sender = new FileSender(channel, [{ blob: file, name: file.name }]);
 * const { verified } = await sender.run(); // [0] once the receiver checked the SHA-256
 * ```
 */
export class FileSender {
  #channel: DataChannelLike;
  #files: OutgoingFile[];
  #options: FileSenderOptions;
  #chunkBytes: number;
  #highWater: number;
  #readBytes: number;
  #offsets: number[];
  /** Where sending is in all files' bytes back to back (resumed and skipped bytes included). */
  #position = 0;
  /** File bytes handed to this channel (what actually goes over the wire). */
  #wireQueued = 0;
  /** The channel's buffered bytes when it closed: they never left. */
  #bufferedAtClose = 0;
  #resume = Promise.withResolvers<ResumeMessage>();
  /** The receiver's `resume` came: `#stored` says what it holds. */
  #resumed = false;
  #window: number;
  /** The receiver's stored point (bytes of all files back to back). */
  #stored = 0;
  /** Wakes a sender waiting for the receiver's stored point to move. */
  #storedMoved: (() => void) | null = null;
  #currentFile = -1;
  #complete = Promise.withResolvers<CompleteMessage>();
  #failure: unknown = null;
  #abort = new AbortController();
  #onMessage = (event: MessageEvent) => this.#handle(event.data);
  #onClose = () => {
    this.#bufferedAtClose = this.#channel.bufferedAmount;
    this.#fail(new ChannelClosedError("The connection to the other browser closed"));
  };

  constructor(channel: DataChannelLike, files: OutgoingFile[], options: FileSenderOptions = {}) {
    this.#channel = channel;
    this.#files = files;
    this.#options = options;
    this.#chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (this.#chunkBytes < MIN_CHUNK_BYTES || this.#chunkBytes > MAX_CHUNK_BYTES) {
      throw new RangeError(`chunkBytes must be ${MIN_CHUNK_BYTES}–${MAX_CHUNK_BYTES}`);
    }
    this.#highWater = options.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES;
    this.#window = options.storedWindowBytes ?? DEFAULT_STORED_WINDOW_BYTES;
    const chunks = Math.max(1, Math.round((options.readBytes ?? 1024 * 1024) / this.#chunkBytes));
    this.#readBytes = chunks * this.#chunkBytes;
    this.#offsets = [];
    let total = 0;
    for (const file of files) {
      this.#offsets.push(total);
      total += file.blob.size;
    }
    this.#offsets.push(total);
    channel.bufferedAmountLowThreshold = options.lowWaterBytes ?? DEFAULT_LOW_WATER_BYTES;
    this.#complete.promise.catch(() => {});
    this.#resume.promise.catch(() => {});
    options.signal?.addEventListener(
      "abort",
      () => this.cancel(String(options.signal?.reason?.message ?? "Canceled")),
      { once: true },
    );
  }

  /** Bytes of all files together. */
  get totalBytes(): number {
    return this.#offsets[this.#offsets.length - 1]!;
  }

  /**
   * How far the receiver is, in all files' bytes back to back: what it held
   * before this connection plus the file bytes that left the send buffer.
   */
  get sentBytes(): number {
    const buffered = this.#channel.readyState === "open" ? this.#channel.bufferedAmount : 0;
    return Math.max(0, Math.min(this.totalBytes, this.#position - buffered));
  }

  /** File bytes that left this side over this channel (what a break makes count twice). */
  get wireBytes(): number {
    const buffered = this.#channel.readyState === "open"
      ? this.#channel.bufferedAmount
      : this.#bufferedAtClose;
    return Math.max(0, this.#wireQueued - buffered);
  }

  /** Bytes of file `index` that left the send buffer. */
  fileSentBytes(index: number): number {
    const start = this.#offsets[index] ?? 0;
    const end = this.#offsets[index + 1] ?? start;
    return Math.max(0, Math.min(end, this.sentBytes) - start);
  }

  /**
   * What the receiver said it stored on this connection (its `resume`, then
   * its `stored` acknowledgements, each sent only after the bytes were
   * written): every file before `index` in full, and `offset` bytes of file
   * `index` (`index` = the number of files when all are stored). Null before
   * the receiver's `resume` came.
   */
  get receiverStored(): { index: number; offset: number } | null {
    if (!this.#resumed) return null;
    const point = Math.min(this.#stored, this.totalBytes);
    for (let index = 0; index < this.#files.length; index++) {
      if (point < this.#offsets[index + 1]!) {
        return { index, offset: point - this.#offsets[index]! };
      }
    }
    return { index: this.#files.length, offset: 0 };
  }

  /** The file being sent, or -1. */
  get currentFile(): number {
    return this.#currentFile;
  }

  /** Runs the whole transfer; resolves when the receiver confirmed it. */
  async run(): Promise<SendResult> {
    const channel = this.#channel;
    channel.addEventListener("message", this.#onMessage);
    channel.addEventListener("close", this.#onClose);
    try {
      const signal = this.#abort.signal;
      this.#send({
        type: "manifest",
        version: PROTOCOL_VERSION,
        files: this.#files.map((file, index) => ({
          index,
          name: file.name,
          size: file.blob.size,
          type: file.type ?? file.blob.type,
          sha256: file.sha256 ?? null,
        })),
        totalBytes: this.totalBytes,
        chunkBytes: this.#chunkBytes,
      });
      const resume = await this.#resume.promise;
      const resumed = this.#files[resume.index];
      if (resume.index > this.#files.length || resume.offset > (resumed?.blob.size ?? 0)) {
        throw new ProtocolError("The receiver's resume point is outside the files");
      }
      const skip = new Set([...resume.verified, ...resume.failed]);
      let prefix: Sha256 | null = null;
      if (resumed && resume.offset > 0) {
        // The receiver's bytes must be this file's: its SHA-256 over them proves it.
        const hash = await this.#hashPrefix(resumed.blob, resume.offset, signal);
        if (hash.clone().hex() === resume.sha256) prefix = hash;
      }
      // A file that starts over: the receiver drops its bytes of it.
      if (resume.offset > 0 && !prefix) this.#stored = this.#offsets[resume.index]!;
      this.#options.onResume?.(resume, prefix !== null);
      for (const [index, file] of this.#files.entries()) {
        if (skip.has(index)) {
          this.#position = this.#offsets[index + 1]!;
          continue;
        }
        this.#currentFile = index;
        const from = index === resume.index && prefix ? resume.offset : 0;
        this.#position = this.#offsets[index]! + from;
        this.#send({ type: "file-start", index, offset: from });
        const sha256 = await this.#sendBytes(file.blob, signal, from, from > 0 ? prefix! : null);
        this.#send({ type: "file-end", index, sha256 });
        this.#options.onFileSent?.(index, sha256);
      }
      this.#currentFile = -1;
      this.#send({ type: "done" });
      const complete = await this.#complete.promise;
      return { verified: complete.verified, failed: complete.failed };
    } catch (error) {
      throw this.#failure ?? error;
    } finally {
      channel.removeEventListener("message", this.#onMessage);
      channel.removeEventListener("close", this.#onClose);
    }
  }

  /** Stops: tells the receiver (when the channel is still open) and makes `run()` reject. */
  cancel(reason = "Canceled by the sender"): void {
    if (this.#failure) return;
    try {
      if (this.#channel.readyState === "open") this.#send({ type: "cancel", reason });
    } catch { /* closing anyway */ }
    this.#fail(new TransferCanceledError("local", reason));
  }

  /** The running SHA-256 of `blob`'s first `length` bytes. */
  async #hashPrefix(blob: Blob, length: number, signal: AbortSignal): Promise<Sha256> {
    const hash = new Sha256();
    for (let offset = 0; offset < length; offset += this.#readBytes) {
      signal.throwIfAborted();
      const end = Math.min(length, offset + this.#readBytes);
      hash.update(new Uint8Array(await blob.slice(offset, end).arrayBuffer()));
    }
    if (this.#failure) throw this.#failure;
    return hash;
  }

  /** Sends `blob` from byte `from` on; `prefix` is the running hash of the bytes before it. */
  async #sendBytes(
    blob: Blob,
    signal: AbortSignal,
    from: number,
    prefix: Sha256 | null,
  ): Promise<string> {
    const hash = prefix ?? new Sha256();
    const read = (offset: number) =>
      blob.slice(offset, offset + this.#readBytes).arrayBuffer().then((buffer) =>
        new Uint8Array(buffer)
      );
    let next = from < blob.size ? read(from) : null;
    for (let offset = from; offset < blob.size; offset += this.#readBytes) {
      const bytes = await next!;
      // Read ahead while this slice is being sent.
      next = offset + this.#readBytes < blob.size ? read(offset + this.#readBytes) : null;
      next?.catch(() => {});
      hash.update(bytes);
      for (let start = 0; start < bytes.byteLength; start += this.#chunkBytes) {
        const chunk = bytes.subarray(start, start + this.#chunkBytes);
        await waitForRoom(this.#channel, chunk.byteLength, { highWater: this.#highWater, signal });
        while (this.#position - this.#stored > this.#window && !this.#failure) {
          await new Promise<void>((resolve) => this.#storedMoved = resolve);
        }
        if (this.#failure) throw this.#failure;
        this.#channel.send(chunk);
        this.#position += chunk.byteLength;
        this.#wireQueued += chunk.byteLength;
      }
    }
    return hash.hex();
  }

  /** Where the receiver's resume point is, in bytes of all files back to back. */
  #resumePoint(resume: ResumeMessage): number {
    return (this.#offsets[resume.index] ?? this.totalBytes) + resume.offset;
  }

  #send(message: ControlMessage): void {
    if (this.#failure) throw this.#failure;
    this.#channel.send(encodeControlMessage(message));
  }

  #fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#abort.abort(error);
    this.#complete.reject(error);
    this.#resume.reject(error);
    this.#storedMoved?.();
  }

  #handle(data: unknown): void {
    if (typeof data !== "string") {
      this.#protocolError(new ProtocolError("The receiver sent binary data"));
      return;
    }
    let message: ControlMessage;
    try {
      message = parseControlMessage(data);
    } catch (error) {
      this.#protocolError(error);
      return;
    }
    switch (message.type) {
      case "file-verified":
        this.#options.onVerified?.(message.index, message.sha256);
        return;
      case "file-failed":
        this.#options.onFailed?.(message.index, message.code, message.message);
        return;
      case "complete":
        this.#complete.resolve(message);
        return;
      case "resume":
        this.#resume.resolve(message);
        this.#resumed = true;
        // What the receiver holds counts as stored.
        this.#stored = Math.max(this.#stored, this.#resumePoint(message));
        return;
      case "stored":
        this.#stored = Math.max(this.#stored, message.bytes);
        this.#storedMoved?.();
        this.#storedMoved = null;
        return;
      case "cancel":
        this.#fail(new TransferCanceledError("peer", message.reason));
        return;
      default:
        this.#protocolError(new ProtocolError(`The receiver sent "${message.type}"`));
    }
  }

  #protocolError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    try {
      if (this.#channel.readyState === "open") this.#send({ type: "cancel", reason: message });
    } catch { /* closing anyway */ }
    this.#fail(error);
  }
}
