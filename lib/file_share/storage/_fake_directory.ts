/**
 * For unit tests only: an in-memory OPFS folder with the behaviour the sinks
 * rely on: `createWritable()` truncates, written bytes show in `getFile()` only
 * after `close()` (like Chromium's swap file), `abort()` discards them.
 */
import type { FileHandleLike, WritableLike } from "./opfs_sink.ts";
import type { DirectoryLike } from "./receive_store.ts";

/** One file of a {@linkcode FakeDirectory}. */
export class FakeFileHandle implements FileHandleLike {
  /** What `getFile()` returns (committed bytes). */
  bytes: Uint8Array = new Uint8Array();
  /** Sizes of every `write()` call, in order. */
  writes: number[] = [];
  /** Makes the next write fail (a full disk). */
  failWrites = false;

  constructor(readonly name: string) {}

  createWritable(): Promise<WritableLike> {
    const chunks: Uint8Array[] = [];
    const writable: WritableLike = {
      write: (data) => {
        if (this.failWrites) return Promise.reject(new DOMException("full", "QuotaExceededError"));
        this.writes.push(data.byteLength);
        chunks.push(data.slice());
        return Promise.resolve();
      },
      close: () => {
        const size = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
        const bytes = new Uint8Array(size);
        let offset = 0;
        for (const chunk of chunks) {
          bytes.set(chunk, offset);
          offset += chunk.byteLength;
        }
        this.bytes = bytes;
        return Promise.resolve();
      },
      abort: () => {
        chunks.length = 0;
        return Promise.resolve();
      },
    };
    return Promise.resolve(writable);
  }

  getFile(): Promise<File> {
    return Promise.resolve(new File([this.bytes as Uint8Array<ArrayBuffer>], this.name));
  }
}

/** An in-memory folder. */
export class FakeDirectory implements DirectoryLike {
  files = new Map<string, FakeFileHandle>();
  #emptied: (() => void)[] = [];

  /** Resolves once the folder holds no file. */
  whenEmpty(): Promise<void> {
    if (this.files.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptied.push(resolve));
  }

  getFileHandle(name: string, options: { create?: boolean } = {}): Promise<FakeFileHandle> {
    let handle = this.files.get(name);
    if (!handle) {
      if (!options.create) return Promise.reject(new DOMException(name, "NotFoundError"));
      handle = new FakeFileHandle(name);
      this.files.set(name, handle);
    }
    return Promise.resolve(handle);
  }

  removeEntry(name: string): Promise<void> {
    if (!this.files.delete(name)) return Promise.reject(new DOMException(name, "NotFoundError"));
    if (this.files.size === 0) { for (const resolve of this.#emptied.splice(0)) resolve(); }
    return Promise.resolve();
  }

  async *keys(): AsyncIterable<string> {
    for (const name of [...this.files.keys()]) yield await Promise.resolve(name);
  }
}
