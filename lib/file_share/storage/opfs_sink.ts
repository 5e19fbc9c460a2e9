/**
 * A file sink that writes into the Origin Private File System as bytes arrive,
 * so a received file lives on disk, not in the page or the browser's memory.
 *
 * A file is cut into segment files of a few MiB, each closed (committed) when
 * full: Chromium keeps what a `FileSystemWritableFileStream` writes in a swap
 * file until `close()`, so a reload would lose everything written into one
 * open stream. Committed segments survive a reload, and the page resumes the
 * transfer from their end.
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

/** Where an {@linkcode OpfsSink} makes and deletes its segment files (a `ReceiveStore`). */
export interface SegmentFiles {
  /** A new, empty segment file. */
  create(): Promise<{ name: string; handle: FileHandleLike }>;
  /** Deletes segment files. */
  remove(names: string[]): Promise<void>;
}

/** A committed segment: its name in the folder and its bytes (a disk-backed File). */
export interface StoredSegment {
  name: string;
  file: File;
}

/**
 * Bytes gathered before one write. A data channel delivers 64 KiB messages and
 * each `write()` of a `FileSystemWritableFileStream` is a round trip to the
 * browser process; 1 MiB batches keep that cost small.
 */
export const DEFAULT_BATCH_BYTES = 1024 * 1024;

/**
 * Bytes per segment file: at most this much is received again after a reload
 * (what was written but not yet committed).
 */
export const DEFAULT_SEGMENT_BYTES = 2 * 1024 * 1024;

/** Options of {@linkcode OpfsSink}. */
export interface OpfsSinkOptions {
  /** Bytes gathered before a write. Default {@linkcode DEFAULT_BATCH_BYTES}. */
  batchBytes?: number;
  /** Bytes per segment file (a multiple of the batch). Default {@linkcode DEFAULT_SEGMENT_BYTES}. */
  segmentBytes?: number;
  /** Segments an earlier page committed: the file goes on after them. */
  stored?: StoredSegment[];
  /** A segment was committed: the names of all committed so far (kept for a reload). */
  onCommit?(names: string[]): void;
}

interface OpenSegment {
  name: string;
  handle: FileHandleLike;
  writable: WritableLike;
  written: number;
}

/**
 * Streams one file into OPFS segment files; `close()` gives back the file as
 * a disk-backed `File` (the segments' Files together), which "Save" streams
 * from disk. `abort()` deletes what was written.
 *
 * @example
 * ```ts
 * declare const segments: SegmentFiles; // a ReceiveStore's, for one file
 * const sink = await OpfsSink.open(segments);
 * await sink.write(new TextEncoder().encode("hi"));
 * const saved = await sink.close(); // { kind: "blob", blob: File }
 * ```
 */
export class OpfsSink implements FileSink {
  #segments: SegmentFiles;
  #options: OpfsSinkOptions;
  #segmentBytes: number;
  #committed: StoredSegment[];
  #open: OpenSegment | null = null;
  #batch: Uint8Array<ArrayBuffer>;
  #batched = 0;

  /** Opens the first (or next, after `stored`) segment file. */
  static async open(segments: SegmentFiles, options: OpfsSinkOptions = {}): Promise<OpfsSink> {
    const sink = new OpfsSink(segments, options);
    await sink.#next();
    return sink;
  }

  private constructor(segments: SegmentFiles, options: OpfsSinkOptions) {
    this.#segments = segments;
    this.#options = options;
    const batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
    this.#batch = new Uint8Array(batchBytes);
    this.#segmentBytes = Math.max(
      batchBytes,
      Math.round((options.segmentBytes ?? DEFAULT_SEGMENT_BYTES) / batchBytes) * batchBytes,
    );
    this.#committed = [...options.stored ?? []];
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
    if (this.#open) await this.#commit();
    const files = this.#committed.map((segment) => segment.file);
    const blob = files.length === 1 ? files[0]! : new File(files, this.#committed[0]!.name);
    return { kind: "blob", blob };
  }

  async abort(): Promise<void> {
    this.#batched = 0;
    const open = this.#open;
    this.#open = null;
    await open?.writable.abort().catch(() => {});
    const names = this.#committed.map((segment) => segment.name);
    if (open) names.push(open.name);
    this.#committed = [];
    await this.#segments.remove(names).catch(() => {});
  }

  async #next(): Promise<OpenSegment> {
    const { name, handle } = await this.#segments.create();
    this.#open = { name, handle, writable: await handle.createWritable(), written: 0 };
    return this.#open;
  }

  async #commit(): Promise<void> {
    const open = this.#open!;
    this.#open = null;
    await open.writable.close();
    this.#committed.push({ name: open.name, file: await open.handle.getFile() });
    this.#options.onCommit?.(this.#committed.map((segment) => segment.name));
  }

  async #flush(): Promise<void> {
    if (this.#batched === 0) return;
    // The writable may keep the buffer it was given until the write settles: hand it a copy.
    const chunk = this.#batch.slice(0, this.#batched);
    this.#batched = 0;
    const open = this.#open ?? await this.#next();
    await open.writable.write(chunk);
    open.written += chunk.byteLength;
    if (open.written >= this.#segmentBytes) await this.#commit();
  }
}
