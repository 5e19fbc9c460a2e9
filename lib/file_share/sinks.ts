/**
 * Where received bytes go. A large file is never one buffer in the page: bytes
 * are either written to disk as they come (File System Access API, when the
 * user picked a folder) or gathered into Blob parts of a few MiB, which the
 * browser keeps outside the page's heap and may page out to disk.
 */

/** Where one file's bytes go while it arrives. */
export interface FileSink {
  /** Appends bytes (in arrival order). May be async; calls are serialized by the caller. */
  write(bytes: Uint8Array): void | Promise<void>;
  /** Every byte arrived and checked out: finish the file. */
  close(): Promise<SavedFile>;
  /** The file is not good (or the transfer stopped): drop what was written. */
  abort(): Promise<void>;
}

/** A finished file: a Blob to offer for saving, or already saved to disk. */
export type SavedFile = { kind: "blob"; blob: Blob } | { kind: "disk"; name: string };

/** Bytes gathered before they become one Blob part. */
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

/**
 * Gathers bytes into Blob parts of `partBytes` each, so the page never holds
 * more than one part's worth of `ArrayBuffer`s.
 *
 * @example
 * ```ts
 * const sink = new BlobSink("text/plain");
 * sink.write(new TextEncoder().encode("hi"));
 * const saved = await sink.close(); // { kind: "blob", blob }
 * ```
 */
export class BlobSink implements FileSink {
  #type: string;
  #partBytes: number;
  #blobs: Blob[] = [];
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;

  constructor(type: string, options: { partBytes?: number } = {}) {
    this.#type = type;
    this.#partBytes = options.partBytes ?? DEFAULT_PART_BYTES;
  }

  /** Blob parts made so far (for tests and memory accounting). */
  get parts(): number {
    return this.#blobs.length;
  }

  /** Bytes still held as ArrayBuffers, not yet in a Blob part. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  write(bytes: Uint8Array): void {
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.byteLength;
    if (this.#pendingBytes >= this.#partBytes) this.#flush();
  }

  close(): Promise<SavedFile> {
    this.#flush();
    const blob = new Blob(this.#blobs, { type: this.#type });
    this.#blobs = [];
    return Promise.resolve({ kind: "blob", blob });
  }

  abort(): Promise<void> {
    this.#blobs = [];
    this.#pending = [];
    this.#pendingBytes = 0;
    return Promise.resolve();
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    this.#blobs.push(new Blob(this.#pending as BlobPart[]));
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}

/** The part of `FileSystemWritableFileStream` a {@linkcode WritableSink} uses. */
export interface WritableFileLike {
  write(data: Uint8Array<ArrayBuffer>): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}

/**
 * Streams bytes straight into a file on disk (a `FileSystemWritableFileStream`
 * from `showSaveFilePicker` / `showDirectoryPicker`). Chromium writes to a
 * temporary file and moves it into place only on `close()`, so an aborted or
 * damaged file never appears under its name.
 */
export class WritableSink implements FileSink {
  #writable: WritableFileLike;
  #name: string;
  #remove: (() => Promise<void>) | undefined;

  constructor(
    writable: WritableFileLike,
    name: string,
    options: { remove?: () => Promise<void> } = {},
  ) {
    this.#writable = writable;
    this.#name = name;
    this.#remove = options.remove;
  }

  async write(bytes: Uint8Array): Promise<void> {
    await this.#writable.write(bytes as Uint8Array<ArrayBuffer>);
  }

  async close(): Promise<SavedFile> {
    await this.#writable.close();
    return { kind: "disk", name: this.#name };
  }

  async abort(): Promise<void> {
    await this.#writable.abort().catch(() => {});
    // A fresh handle leaves an empty file behind; take it away again.
    await this.#remove?.().catch(() => {});
  }
}
