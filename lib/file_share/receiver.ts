/** The receiving end of the file-share protocol over a data channel. */
import { ChannelClosedError, type DataChannelLike } from "./channel.ts";
import { TransferCanceledError } from "./errors.ts";
import {
  type ControlMessage,
  encodeControlMessage,
  type ManifestFile,
  type ManifestMessage,
  parseControlMessage,
  ProtocolError,
} from "./messages.ts";
import { Sha256 } from "./sha256.ts";
import type { FileSink, SavedFile } from "./sinks.ts";

/** How one file ended on the receiving side. */
export type ReceivedFile =
  & { index: number; name: string; size: number; type: string }
  & (
    | { ok: true; sha256: string; saved: SavedFile }
    | {
      ok: false;
      code: "hash_mismatch" | "write_failed";
      message: string;
      expected?: string;
      actual?: string;
    }
  );

/** Options of {@linkcode FileReceiver}. */
export interface FileReceiverOptions {
  /** Where file `file.index`'s bytes go (a {@linkcode BlobSink} unless saving to disk). */
  openSink(file: ManifestFile): FileSink | Promise<FileSink>;
  /** The manifest arrived. */
  onManifest?(manifest: ManifestMessage): void;
  /** File `index` is complete and checked (good or not). */
  onFile?(file: ReceivedFile): void;
}

/** A file's sink: `opened` as soon as it is usable (at once for synchronous sinks). */
interface OpeningSink {
  promise: Promise<FileSink>;
  opened: FileSink | null;
}

type Phase =
  | { kind: "manifest" }
  | { kind: "between"; next: number }
  | { kind: "file"; index: number; received: number; hash: Sha256; sink: OpeningSink }
  | { kind: "ended" };

/**
 * Receives files from a {@linkcode FileSender}: checks every message and the
 * order they come in, hashes each file as it arrives (never holding it whole),
 * writes it to its sink, verifies the SHA-256 from `file-end` (and the
 * manifest's, when it had one), answers `file-verified` or `file-failed`, and
 * acknowledges `done` with `complete` once every file is stored.
 *
 * @example
 * ```ts
 * import { BlobSink } from "./sinks.ts";
 *
 * declare const channel: RTCDataChannel; // open, from PeerLink's onOpen
 * const receiver = new FileReceiver(channel, { openSink: (file) => new BlobSink(file.type) });
 * const files = await receiver.done;
 * ```
 */
export class FileReceiver {
  #channel: DataChannelLike;
  #options: FileReceiverOptions;
  #phase: Phase = { kind: "manifest" };
  #manifest: ManifestMessage | null = null;
  #results: ReceivedFile[] = [];
  #receivedBytes = 0;
  #fileBytes: number[] = [];
  #writes: Promise<void> = Promise.resolve();
  #queued = 0;
  #done = Promise.withResolvers<ReceivedFile[]>();
  #failure: unknown = null;
  #sinks: OpeningSink[] = [];
  #onMessage = (event: MessageEvent) => this.#handle(event.data);
  #onClose = () => {
    if (this.#phase.kind !== "ended") {
      this.#fail(new ChannelClosedError("The connection to the other browser closed"));
    }
  };

  constructor(channel: DataChannelLike, options: FileReceiverOptions) {
    this.#channel = channel;
    this.#options = options;
    this.#done.promise.catch(() => {});
    channel.addEventListener("message", this.#onMessage);
    channel.addEventListener("close", this.#onClose);
  }

  /** Resolves with every file once `complete` was sent; rejects on cancel, close or a protocol error. */
  get done(): Promise<ReceivedFile[]> {
    return this.#done.promise;
  }

  /** The manifest, once it arrived. */
  get manifest(): ManifestMessage | null {
    return this.#manifest;
  }

  /** Bytes received of all files. */
  get receivedBytes(): number {
    return this.#receivedBytes;
  }

  /** Bytes received of file `index`. */
  fileReceivedBytes(index: number): number {
    return this.#fileBytes[index] ?? 0;
  }

  /** Stops: tells the sender and makes `done` reject. */
  cancel(reason = "Canceled by the receiver"): void {
    if (this.#failure || this.#phase.kind === "ended") return;
    this.#tell({ type: "cancel", reason });
    this.#fail(new TransferCanceledError("local", reason));
  }

  #tell(message: ControlMessage): void {
    try {
      if (this.#channel.readyState === "open") {
        this.#channel.send(encodeControlMessage(message));
      }
    } catch { /* the close event reports it */ }
  }

  #fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#phase = { kind: "ended" };
    this.#detach();
    for (const sink of this.#sinks) {
      void sink.promise.then((opened) => opened.abort()).catch(() => {});
    }
    this.#done.reject(error);
  }

  #detach(): void {
    this.#channel.removeEventListener("message", this.#onMessage);
    this.#channel.removeEventListener("close", this.#onClose);
  }

  #protocolError(message: string): void {
    const error = new ProtocolError(message);
    this.#tell({ type: "cancel", reason: message.slice(0, 200) });
    this.#fail(error);
  }

  /**
   * Runs `step` after every earlier step, in order. While nothing is pending a
   * synchronous step (a Blob-part write) runs at once, with no promise per chunk;
   * a failing step fails the transfer.
   */
  #then(step: () => void | Promise<void>): void {
    if (this.#failure) return;
    if (this.#queued === 0) {
      let result: void | Promise<void>;
      try {
        result = step();
      } catch (error) {
        this.#storeFailed(error);
        return;
      }
      if (result instanceof Promise) this.#track(result);
      return;
    }
    this.#track(this.#writes.then(() => this.#failure ? undefined : step()));
  }

  #track(work: Promise<void>): void {
    this.#queued++;
    this.#writes = work.then(() => {
      this.#queued--;
    }, (error) => {
      this.#queued--;
      this.#storeFailed(error);
    });
  }

  #storeFailed(error: unknown): void {
    this.#tell({ type: "cancel", reason: "The receiver could not store the file" });
    this.#fail(error);
  }

  #handle(data: unknown): void {
    if (this.#failure) return;
    if (typeof data === "string") {
      let message: ControlMessage;
      try {
        message = parseControlMessage(data);
      } catch (error) {
        this.#protocolError(error instanceof Error ? error.message : String(error));
        return;
      }
      this.#control(message);
      return;
    }
    if (data instanceof ArrayBuffer) this.#bytes(new Uint8Array(data));
    else if (ArrayBuffer.isView(data)) {
      this.#bytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } else this.#protocolError("Unexpected kind of binary message");
  }

  #bytes(bytes: Uint8Array): void {
    const phase = this.#phase;
    if (phase.kind !== "file") {
      this.#protocolError("File bytes outside of a file");
      return;
    }
    const file = this.#manifest!.files[phase.index]!;
    if (phase.received + bytes.byteLength > file.size) {
      this.#protocolError(`More bytes than the ${file.size} announced for "${file.name}"`);
      return;
    }
    phase.received += bytes.byteLength;
    this.#receivedBytes += bytes.byteLength;
    this.#fileBytes[phase.index] = phase.received;
    phase.hash.update(bytes);
    const sink = phase.sink;
    this.#then(() =>
      sink.opened ? sink.opened.write(bytes) : sink.promise.then((opened) => opened.write(bytes))
    );
  }

  #control(message: ControlMessage): void {
    const phase = this.#phase;
    switch (message.type) {
      case "manifest":
        if (phase.kind !== "manifest") return this.#protocolError("A second manifest");
        this.#manifest = message;
        this.#fileBytes = message.files.map(() => 0);
        this.#phase = { kind: "between", next: 0 };
        this.#options.onManifest?.(message);
        return;
      case "file-start": {
        if (phase.kind !== "between" || message.index !== phase.next) {
          return this.#protocolError(`Unexpected start of file ${message.index}`);
        }
        const file = this.#manifest!.files[message.index];
        if (!file) return this.#protocolError(`No file ${message.index} in the manifest`);
        let sink: OpeningSink;
        try {
          const opening = this.#options.openSink(file);
          sink = opening instanceof Promise
            ? { promise: opening, opened: null }
            : { promise: Promise.resolve(opening), opened: opening };
        } catch (error) {
          sink = { promise: Promise.reject(error), opened: null };
        }
        sink.promise.catch(() => {});
        this.#sinks[message.index] = sink;
        if (!sink.opened) {
          const pending = sink;
          this.#then(() =>
            pending.promise.then((opened) => {
              pending.opened = opened;
            })
          );
        }
        this.#phase = {
          kind: "file",
          index: message.index,
          received: 0,
          hash: new Sha256(),
          sink,
        };
        return;
      }
      case "file-end": {
        if (phase.kind !== "file" || message.index !== phase.index) {
          return this.#protocolError(`Unexpected end of file ${message.index}`);
        }
        const file = this.#manifest!.files[phase.index]!;
        if (phase.received !== file.size) {
          return this.#protocolError(
            `"${file.name}" ended after ${phase.received} of ${file.size} bytes`,
          );
        }
        this.#finishFile(file, phase.hash.hex(), message.sha256, phase.sink);
        this.#phase = { kind: "between", next: phase.index + 1 };
        return;
      }
      case "done": {
        if (phase.kind !== "between" || phase.next !== this.#manifest!.files.length) {
          return this.#protocolError("Done before every file was sent");
        }
        this.#phase = { kind: "ended" };
        this.#then(() => {
          const results = this.#results;
          this.#tell({
            type: "complete",
            verified: results.filter((result) => result.ok).map((result) => result.index),
            failed: results.filter((result) => !result.ok).map((result) => result.index),
          });
          this.#detach();
          this.#done.resolve(results);
        });
        return;
      }
      case "cancel":
        this.#fail(new TransferCanceledError("peer", message.reason));
        return;
      default:
        this.#protocolError(`The sender sent "${message.type}"`);
    }
  }

  #finishFile(
    file: ManifestFile,
    actual: string,
    announced: string,
    sink: OpeningSink,
  ): void {
    const expected = file.sha256 && file.sha256 !== announced ? file.sha256 : announced;
    const good = actual === announced && (file.sha256 === null || file.sha256 === actual);
    const base = { index: file.index, name: file.name, size: file.size, type: file.type };
    this.#then(async () => {
      const opened = await sink.promise;
      let result: ReceivedFile;
      if (good) {
        try {
          result = { ...base, ok: true, sha256: actual, saved: await opened.close() };
        } catch (error) {
          await opened.abort().catch(() => {});
          result = {
            ...base,
            ok: false,
            code: "write_failed",
            message: `Could not save "${file.name}": ${
              error instanceof Error ? error.message : String(error)
            }`,
          };
        }
      } else {
        await opened.abort();
        result = {
          ...base,
          ok: false,
          code: "hash_mismatch",
          message: `"${file.name}" arrived damaged: its SHA-256 does not match the sender's`,
          expected,
          actual,
        };
      }
      this.#results.push(result);
      if (result.ok) {
        this.#tell({ type: "file-verified", index: file.index, sha256: result.sha256 });
      } else {
        this.#tell({
          type: "file-failed",
          index: file.index,
          code: result.code,
          message: result.message.slice(0, 200),
        });
      }
      this.#options.onFile?.(result);
    });
  }
}
