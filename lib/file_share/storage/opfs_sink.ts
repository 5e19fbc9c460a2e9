/**
 * A file sink that writes into the Origin Private File System as bytes arrive,
 * so a received file lives on disk, not in the page or the browser's memory.
 */
import type { FileSink, SavedFile } from "../sinks.ts";

/** The part of `FileSystemWritableFileStream` an {@linkcode OpfsSink} uses. */
export interface WritableLike {
  write(data: Uint8Array<ArrayBuffer>): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}

/** The part of an OPFS `FileSystemFileHandle` an {@linkcode OpfsSink} uses. */
export interface FileHandleLike {
  createWritable(): Promise<WritableLike>;
  getFile(): Promise<File>;
}

/**
 * Bytes gathered before one write. A data channel delivers 64 KiB messages and
 * each `write()` of a `FileSystemWritableFileStream` is a round trip to the
 * browser process; 1 MiB batches keep that cost small.
 */
export const DEFAULT_BATCH_BYTES = 1024 * 1024;

/** Options of {@linkcode OpfsSink}. */
export interface OpfsSinkOptions {
  /** Bytes gathered before a write. Default {@linkcode DEFAULT_BATCH_BYTES}. */
  batchBytes?: number;
  /** Removes the file (on abort). */
  remove(): Promise<void>;
}

/**
 * Streams one file into an OPFS file handle; `close()` gives back the file as
 * a disk-backed `File` (from `getFile()`), which "Save" streams from disk.
 * `abort()` deletes what was written.
 *
 * @example
 * ```ts
 * declare const handle: FileHandleLike; // from OPFS getFileHandle(name, { create: true })
 * const sink = await OpfsSink.open(handle, { remove: async () => {} });
 * await sink.write(new TextEncoder().encode("hi"));
 * const saved = await sink.close(); // { kind: "blob", blob: File }
 * ```
 */
export class OpfsSink implements FileSink {
  #handle: FileHandleLike;
  #writable: WritableLike;
  #options: OpfsSinkOptions;
  #batch: Uint8Array<ArrayBuffer>;
  #batched = 0;

  /** Opens a writable on `handle` (an OPFS file, truncated). */
  static async open(handle: FileHandleLike, options: OpfsSinkOptions): Promise<OpfsSink> {
    return new OpfsSink(handle, await handle.createWritable(), options);
  }

  private constructor(handle: FileHandleLike, writable: WritableLike, options: OpfsSinkOptions) {
    this.#handle = handle;
    this.#writable = writable;
    this.#options = options;
    this.#batch = new Uint8Array(options.batchBytes ?? DEFAULT_BATCH_BYTES);
  }

  /**
   * Copies `bytes` into the batch; only a full batch is written (and only then
   * is a promise returned), so most chunks cost no promise at all.
   */
  write(bytes: Uint8Array): void | Promise<void> {
    let offset = 0;
    while (offset < bytes.byteLength) {
      const take = Math.min(bytes.byteLength - offset, this.#batch.byteLength - this.#batched);
      this.#batch.set(bytes.subarray(offset, offset + take), this.#batched);
      this.#batched += take;
      offset += take;
      if (this.#batched === this.#batch.byteLength) {
        const flushing = this.#flush();
        if (offset === bytes.byteLength) return flushing;
        const rest = bytes.subarray(offset);
        return flushing.then(() => this.write(rest));
      }
    }
  }

  async close(): Promise<SavedFile> {
    await this.#flush();
    await this.#writable.close();
    return { kind: "blob", blob: await this.#handle.getFile() };
  }

  async abort(): Promise<void> {
    this.#batched = 0;
    await this.#writable.abort().catch(() => {});
    await this.#options.remove().catch(() => {});
  }

  async #flush(): Promise<void> {
    if (this.#batched === 0) return;
    // The writable may keep the buffer it was given until the write settles: hand it a copy.
    const chunk = this.#batch.slice(0, this.#batched);
    this.#batched = 0;
    await this.#writable.write(chunk);
  }
}
