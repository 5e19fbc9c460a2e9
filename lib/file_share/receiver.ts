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

/** The file a connection broke in: its first `received` bytes went to `sink` and into `hash`. */
export interface PartialFile {
  index: number;
  received: number;
  /** The running SHA-256 of those bytes (the final hash goes on from it). */
  hash: Sha256;
  sink: Promise<FileSink>;
}

/**
 * What a receiver holds of a transfer between two connections (or across a
 * reload, rebuilt from the OPFS): the next {@linkcode FileReceiver} tells the
 * sender with `resume` and goes on from it.
 */
export interface ReceiveProgress {
  /** The files as announced; a manifest with other files starts over. */
  files: Pick<ManifestFile, "name" | "size" | "type">[];
  /** Files finished (verified or failed). */
  results: ReceivedFile[];
  /** The file cut off midway, if any. */
  partial: PartialFile | null;
  /** Writes still under way into the partial sink: the next receiver writes after them. */
  writes: Promise<void>;
}

/** Options of {@linkcode FileReceiver}. */
export interface FileReceiverOptions {
  /** What an earlier connection of this transfer received (absent: nothing). */
  progress?: ReceiveProgress | null;
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

/** The receiver tells the sender its stored point after this many more bytes are stored. */
const STORED_EVERY_BYTES = 256 * 1024;

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
  /** What an earlier connection left, until the manifest says whether it still counts. */
  #carried: ReceiveProgress | null;
  /** The partial file the sender will continue, once the manifest matched. */
  #partial: PartialFile | null = null;
  /** Where each file starts in all files back to back. */
  #starts: number[] = [];
  /** The stored point last told to the sender. */
  #toldStored = 0;
  #onMessage = (event: MessageEvent) => this.#handle(event.data);
  #onClose = () => {
    if (this.#phase.kind !== "ended") {
      this.#fail(new ChannelClosedError("The connection to the other browser closed"));
    }
  };

  constructor(channel: DataChannelLike, options: FileReceiverOptions) {
    this.#channel = channel;
    this.#options = options;
    this.#carried = options.progress ?? null;
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

  /**
   * What this receiver holds, for the next connection to go on from (after the
   * channel closed, or `suspend()`); null once the transfer ended or failed
   * for another reason.
   */
  progress(): ReceiveProgress | null {
    if (!(this.#failure instanceof ChannelClosedError)) return null;
    const manifest = this.#manifest;
    if (!manifest) return this.#carried;
    const phase = this.#lastFile;
    return {
      files: manifest.files,
      // The same array: writes still queued here may finish a file after this call.
      results: this.#results,
      partial: phase ?? this.#partial,
      writes: this.#writes,
    };
  }

  /**
   * Stops listening without a word to the sender and keeps what arrived (a
   * new connection takes over): `done` rejects with `ChannelClosedError`.
   */
  suspend(): void {
    if (this.#failure || this.#phase.kind === "ended") return;
    this.#fail(new ChannelClosedError("Another connection took over"));
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

  /** The file under way when the connection closed (kept for the next one). */
  #lastFile: PartialFile | null = null;

  #fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure = error;
    const phase = this.#phase;
    this.#phase = { kind: "ended" };
    this.#detach();
    if (error instanceof ChannelClosedError) {
      // The bytes so far stay: a new connection resumes from them.
      if (phase.kind === "file") {
        this.#lastFile = {
          index: phase.index,
          received: phase.received,
          hash: phase.hash,
          sink: phase.sink.promise,
        };
      }
    } else {
      for (const sink of this.#sinks) {
        void sink?.promise.then((opened) => opened.abort()).catch(() => {});
      }
      void this.#partial?.sink.then((opened) => opened.abort()).catch(() => {});
      void this.#carried?.partial?.sink.then((opened) => opened.abort()).catch(() => {});
    }
    this.#done.reject(error);
  }

  /** The first file from `index` on that is not finished yet (the files length when none). */
  #nextFile(index: number): number {
    const finished = new Set(this.#results.map((result) => result.index));
    const count = this.#manifest?.files.length ?? 0;
    while (index < count && finished.has(index)) index++;
    return index;
  }

  /** Takes up what an earlier connection left when `manifest` announces the same files. */
  #takeOver(manifest: ManifestMessage): void {
    const carried = this.#carried;
    this.#carried = null;
    if (!carried) return;
    const same = carried.files.length === manifest.files.length &&
      carried.files.every((file, index) => {
        const announced = manifest.files[index]!;
        return announced.name === file.name && announced.size === file.size &&
          announced.type === file.type;
      });
    if (!same) {
      void carried.partial?.sink.then((opened) => opened.abort()).catch(() => {});
      return;
    }
    this.#results = carried.results;
    for (const result of this.#results) this.#fileBytes[result.index] = result.size;
    this.#partial = carried.partial;
    if (this.#partial) this.#fileBytes[this.#partial.index] = this.#partial.received;
    this.#receivedBytes = this.#fileBytes.reduce((sum, bytes) => sum + bytes, 0);
    this.#track(carried.writes);
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
    // Steps already queued still run when only the channel closed: what arrived is stored.
    this.#track(this.#writes.then(() => this.#stopped() ? undefined : step()));
  }

  /** The transfer failed for good (not just its channel): queued steps are dropped. */
  #stopped(): boolean {
    return this.#failure !== null && !(this.#failure instanceof ChannelClosedError);
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
    const stored = this.#starts[phase.index]! + phase.received;
    const last = phase.received === file.size;
    this.#then(() => {
      const writing = sink.opened
        ? sink.opened.write(bytes)
        : sink.promise.then((opened) => opened.write(bytes));
      if (!(writing instanceof Promise)) return this.#tellStored(stored, last);
      return writing.then(() => this.#tellStored(stored, last));
    });
  }

  /** Tells the sender how far bytes are stored (every few hundred KiB, and at each file's end). */
  #tellStored(bytes: number, force: boolean): void {
    if (!force && bytes - this.#toldStored < STORED_EVERY_BYTES) return;
    this.#toldStored = bytes;
    this.#tell({ type: "stored", bytes });
  }

  #control(message: ControlMessage): void {
    const phase = this.#phase;
    switch (message.type) {
      case "manifest": {
        if (phase.kind !== "manifest") return this.#protocolError("A second manifest");
        this.#manifest = message;
        this.#fileBytes = message.files.map(() => 0);
        let start = 0;
        this.#starts = message.files.map((file) => (start += file.size) - file.size);
        this.#takeOver(message);
        this.#phase = { kind: "between", next: 0 };
        this.#options.onManifest?.(message);
        // After the writes of the earlier connection: only stored bytes count.
        this.#then(() => {
          const partial = this.#partial;
          const finished = (ok: boolean) =>
            this.#results.filter((result) => result.ok === ok).map((result) => result.index);
          this.#tell({
            type: "resume",
            verified: finished(true),
            failed: finished(false),
            index: partial?.index ?? this.#nextFile(0),
            offset: partial?.received ?? 0,
            sha256: partial && partial.received > 0 ? partial.hash.clone().hex() : null,
          });
        });
        return;
      }
      case "file-start": {
        if (phase.kind !== "between" || message.index !== this.#nextFile(phase.next)) {
          return this.#protocolError(`Unexpected start of file ${message.index}`);
        }
        const file = this.#manifest!.files[message.index];
        if (!file) return this.#protocolError(`No file ${message.index} in the manifest`);
        const partial = this.#partial?.index === message.index ? this.#partial : null;
        this.#partial = null;
        if (message.offset > 0 && message.offset !== partial?.received) {
          return this.#protocolError(`File ${message.index} resumed at a byte not held here`);
        }
        let sink: OpeningSink;
        if (partial && message.offset > 0) {
          sink = { promise: partial.sink, opened: null };
        } else {
          // The sender starts the file over (its bytes did not match): drop the old ones.
          if (partial) this.#then(() => partial.sink.then((opened) => opened.abort()));
          this.#receivedBytes -= this.#fileBytes[message.index] ?? 0;
          this.#fileBytes[message.index] = 0;
          try {
            const opening = this.#options.openSink(file);
            sink = opening instanceof Promise
              ? { promise: opening, opened: null }
              : { promise: Promise.resolve(opening), opened: opening };
          } catch (error) {
            sink = { promise: Promise.reject(error), opened: null };
          }
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
          received: message.offset,
          hash: partial && message.offset > 0 ? partial.hash : new Sha256(),
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
        if (
          phase.kind !== "between" || this.#nextFile(phase.next) !== this.#manifest!.files.length
        ) {
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
