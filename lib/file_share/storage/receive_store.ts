/**
 * The receive page's folder in the Origin Private File System: a few segment
 * files per received file (named by when the page started, a random id, the
 * file's index and the segment's, never by the sender's file name), deleted when a transfer stops short, when the page
 * leaves, or by the next page load once older than a day.
 */
import type { ManifestFile } from "../messages.ts";
import {
  type FileHandleLike,
  OpfsSink,
  type OpfsSinkOptions,
  type StoredSegment,
  type WritableLike,
} from "./opfs_sink.ts";

/** The part of an OPFS `FileSystemDirectoryHandle` a {@linkcode ReceiveStore} uses. */
export interface DirectoryLike {
  getFileHandle(name: string, options?: { create?: boolean }): Promise<FileHandleLike>;
  removeEntry(name: string): Promise<void>;
  keys(): AsyncIterable<string>;
}

/** The part of `StorageManager` {@linkcode openReceiveStore} uses. */
export interface StorageManagerLike {
  getDirectory(): Promise<unknown>;
}

/** The OPFS folder received files go to. */
export const RECEIVE_FOLDER = "switchboard-received";
/** Files older than this are swept on page load: no transfer or unsaved file lives that long. */
export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/** `<epoch ms>-<random>-<index>`: the time is what the sweep reads. */
const ENTRY_NAME = /^(\d{13})-[a-z0-9]+-/;

/**
 * One page's files in the OPFS receive folder.
 *
 * @example
 * ```ts
 * const store = await openReceiveStore();
 * if (store) {
 *   await store.sweep();
 *   const sink = await store.open({ index: 0 }); // file 0 of the manifest
 *   await sink.write(new Uint8Array([1, 2, 3]));
 *   await sink.close(); // { kind: "blob", blob: File } read from disk
 * }
 * ```
 */
export class ReceiveStore {
  #directory: DirectoryLike;
  #prefix: string;
  #now: () => number;
  #names = new Set<string>();

  constructor(directory: DirectoryLike, options: { now?: () => number } = {}) {
    this.#directory = directory;
    this.#now = options.now ?? Date.now;
    this.#prefix = `${this.#now()}-${crypto.randomUUID().slice(0, 8)}`;
  }

  /** Names of this page's files in the folder (for tests). */
  get names(): string[] {
    return [...this.#names];
  }

  /**
   * A sink for `file`: new OPFS segment files, deleted again if the sink is
   * aborted. With `options.stored` (segments a page before a reload
   * committed), the file goes on after them.
   */
  async open(
    file: Pick<ManifestFile, "index">,
    options: Pick<OpfsSinkOptions, "stored" | "onCommit" | "segmentBytes"> = {},
  ): Promise<OpfsSink> {
    let segment = options.stored?.length ?? 0;
    return await OpfsSink.open({
      create: async () => {
        const name = this.#newName(`${file.index}-${segment++}`);
        return { name, handle: await this.#directory.getFileHandle(name, { create: true }) };
      },
      remove: async (names) => {
        await Promise.all(names.map((name) => this.remove(name)));
      },
    }, options);
  }

  /**
   * The committed segments `names` (of this page, or of this tab before a
   * reload: they become this page's), in order; null when one is missing.
   */
  async reopen(names: string[]): Promise<StoredSegment[] | null> {
    try {
      const segments: StoredSegment[] = [];
      for (const name of names) {
        const handle = await this.#directory.getFileHandle(name);
        segments.push({ name, file: await handle.getFile() });
        this.#names.add(name);
      }
      return segments;
    } catch {
      return null;
    }
  }

  /**
   * Writes `stream` into a new file of the folder and gives it back as a
   * disk-backed File (the "Save all" zip, streamed to disk instead of memory).
   */
  async writeStream(stream: ReadableStream<Uint8Array>, label: string): Promise<File> {
    const name = this.#newName(label);
    const handle = await this.#directory.getFileHandle(name, { create: true });
    let writable: WritableLike | null = null;
    try {
      writable = await handle.createWritable();
      for await (const chunk of stream) await writable.write(chunk as Uint8Array<ArrayBuffer>);
      await writable.close();
      return await handle.getFile();
    } catch (error) {
      await writable?.abort().catch(() => {});
      await this.remove(name);
      throw error;
    }
  }

  /** Deletes one of this page's files. */
  async remove(name: string): Promise<void> {
    this.#names.delete(name);
    await this.#directory.removeEntry(name).catch(() => {});
  }

  /** Deletes every file of this page (the page leaves: its Save links die with it). */
  async removeAll(): Promise<void> {
    await Promise.all([...this.#names].map((name) => this.remove(name)));
  }

  /**
   * Deletes files any page left behind more than `maxAgeMs` ago (a tab that
   * crashed or was killed could not clean up). Younger files may belong to a
   * page open in another tab and stay. Returns how many were deleted.
   */
  async sweep(maxAgeMs: number = STALE_AFTER_MS): Promise<number> {
    const cutoff = this.#now() - maxAgeMs;
    const stale: string[] = [];
    for await (const name of this.#directory.keys()) {
      const created = Number(ENTRY_NAME.exec(name)?.[1] ?? NaN);
      // Names this code did not make are someone's mistake: older than any transfer.
      if (!(created >= cutoff) && !this.#names.has(name)) stale.push(name);
    }
    await Promise.all(stale.map((name) => this.#directory.removeEntry(name).catch(() => {})));
    return stale.length;
  }

  #newName(label: string): string {
    const name = `${this.#prefix}-${label.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
    this.#names.add(name);
    return name;
  }
}

/**
 * The receive folder in this browser's OPFS, or null where there is none or
 * it cannot write (no `getDirectory`, no `createWritable` on its files, or a
 * browser that refuses storage, e.g. some private windows).
 */
export async function openReceiveStore(
  storage: StorageManagerLike | undefined = globalThis.navigator?.storage,
  options: { now?: () => number } = {},
): Promise<ReceiveStore | null> {
  if (typeof storage?.getDirectory !== "function") return null;
  try {
    const root = await storage.getDirectory() as FileSystemDirectoryHandle;
    const folder = await root.getDirectoryHandle(RECEIVE_FOLDER, { create: true });
    // Safari before 26 has OPFS but writes only through sync access handles in workers.
    const probe = await folder.getFileHandle(".probe", { create: true });
    if (typeof (probe as { createWritable?: unknown }).createWritable !== "function") return null;
    await folder.removeEntry(".probe").catch(() => {});
    return new ReceiveStore(folder as unknown as DirectoryLike, options);
  } catch {
    return null;
  }
}
