/**
 * The chunk store: files in Deno KV, split into chunks below the 64 KiB value
 * limit and written in atomic batches while the upload streams in.
 */
import { createHash } from "node:crypto";
import { ByteReader } from "./_byte_reader.ts";
import { timingSafeEqual } from "../identity/_encoding.ts";
import { encodeBase64Url } from "../text/mod.ts";
import {
  chunkKey,
  downloadsKey,
  fileKey,
  goneKey,
  progressKey,
  PURGE_PREFIX,
  purgeKey,
  UPLOAD_PREFIX,
  uploadKey,
} from "./_keys.ts";
import {
  FileGoneError,
  FileNotFoundError,
  FileTooLargeError,
  type GoneReason,
  StorageFullError,
  UploadAbortedError,
  UploadInterruptedError,
  WrongDeleteTokenError,
} from "./errors.ts";
import {
  type FileRecord,
  fileRecordSchema,
  goneSchema,
  purgeSchema,
  type UploadLease,
  uploadLeaseSchema,
  uploadProgressSchema,
} from "./record.ts";
import { ApiError } from "../errors/mod.ts";
import type { StorageGate } from "../storage_budget/mod.ts";

/** Bytes per chunk: under KV's 64 KiB value limit, with room to spare. */
export const CHUNK_SIZE = 60 * 1024;
/** Chunks per atomic commit: 10 × 60 KiB stays under KV's 800 KiB per operation. */
export const CHUNKS_PER_COMMIT = 10;
/** Deletions per atomic commit (KV allows 1000 mutations). */
const DELETES_PER_COMMIT = 500;
/** Chunks fetched per read (`getMany` takes at most 10 keys). */
const CHUNKS_PER_READ = 10;
/** Extra life of KV's own `expireIn`, a backstop for when no sweeper ever runs. */
const BACKSTOP_MS = 6 * 3600_000;
/** How long a purged file keeps answering 410 instead of 404. */
const TOMBSTONE_MS = 24 * 3600_000;

/** Options of {@linkcode KvLinkStore}. */
export interface LinkStoreOptions {
  /** The clock (ms since the epoch). Default `Date.now`. */
  now?: () => number;
  /** Bytes per chunk. Default {@linkcode CHUNK_SIZE}. */
  chunkSize?: number;
  /** Chunks per atomic commit. Default {@linkcode CHUNKS_PER_COMMIT}. */
  chunksPerCommit?: number;
  /**
   * How long the bytes of an expired or used-up file stay after it stopped being
   * downloadable, so that downloads already running can finish. Default 30 min.
   */
  purgeGraceMs?: number;
  /** An upload that wrote nothing for this long is abandoned and removed. Default 10 min. */
  staleUploadMs?: number;
  /**
   * Chunk commits of one upload in flight at once (default 1: a local file writes
   * one at a time anyway). Over a remote KV each commit is a round trip, so 4
   * keep the upload from waiting on them one by one.
   */
  commitsInFlight?: number;
}

/** What to store with a file. */
export interface PutOptions {
  /** A cleaned file name (see `sanitizeFilename`). */
  name: string;
  /** Media type. */
  type: string;
  /** Seconds until the file expires. */
  ttlSeconds: number;
  /** The upload is cut off with {@linkcode FileTooLargeError} past this many bytes. */
  maxBytes: number;
  /** Downloads allowed in all; null or absent for no limit. */
  maxDownloads?: number | null;
  /** The bytes are ciphertext made by the uploader's browser. Default false. */
  encrypted?: boolean;
  /**
   * Read a byte-stream `source` with BYOB straight into the chunks (no garbage per
   * piece). Pass false for a request body without Content-Length (see `ByteReader`).
   * Default true.
   */
  byob?: boolean;
  /**
   * The uploads storage budget: bytes are counted as they arrive (uploads running at
   * once cannot overrun it together), refused with {@linkcode StorageFullError} past
   * it, and given back if the upload fails.
   */
  storage?: StorageGate | undefined;
  /**
   * A read of a `ReadableStream` source that gets no bytes for this long fails
   * with 408 `body_timeout` (a client that stalls mid-upload). Default none.
   */
  idleTimeoutMs?: number | undefined;
}

/** A stored file and the token that deletes it (shown once, never stored). */
export interface StoredFile {
  file: FileRecord;
  deleteToken: string;
}

/** A file that can be downloaded now. */
export interface AvailableFile {
  file: FileRecord;
  /** Downloads left, or null for no limit. */
  downloadsLeft: number | null;
}

/** A byte range, both ends inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/** What one sweep removed. */
export interface SweepReport {
  /** Files whose record and chunks were purged. */
  files: number;
  /** Abandoned uploads whose chunks were removed. */
  uploads: number;
}

/** Where link-mode files live. */
export interface LinkStore {
  /** Streams `source` into storage; the file becomes visible only when complete. */
  put(
    source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
    options: PutOptions,
  ): Promise<StoredFile>;
  /** A downloadable file; throws 404 `not_found` or 410 `expired`. */
  get(id: string): Promise<AvailableFile>;
  /** Like {@linkcode get}, and counts one download against `maxDownloads` atomically. */
  claimDownload(id: string): Promise<AvailableFile>;
  /** The stored bytes of `file`, or of one range of them. */
  read(file: FileRecord, range?: ByteRange): ReadableStream<Uint8Array>;
  /** Deletes a file; throws 403 `wrong_delete_token` for a wrong token. */
  delete(id: string, deleteToken: string): Promise<void>;
  /** Purges expired and used-up files and abandoned uploads. */
  sweep(): Promise<SweepReport>;
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function randomToken(bytes: number): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** True for ids this store could have made (checked before any KV access). */
export function isFileId(id: string): boolean {
  return /^[A-Za-z0-9_-]{22}$/.test(id);
}

/**
 * Link-mode files in Deno KV. Under `deno serve --parallel` every isolate opens
 * the same KV, so all state lives there: uploads are guarded by a lease entry,
 * download counts by atomic checks, and purges are scheduled as KV entries that
 * any isolate's sweeper can carry out.
 *
 * Layout: `["link","file",id]` record · `["link","chunk",id,n]` bytes ·
 * `["link","upload",id]` lease while uploading · `["link","downloads",id]` count ·
 * `["link","purge",at,id]` schedule · `["link","gone",id]` tombstone.
 *
 * @example
 * ```ts
 * const store = new KvLinkStore(await Deno.openKv(":memory:"));
 * const { file, deleteToken } = await store.put(new Blob(["hello"]).stream(), {
 *   name: "notes.txt",
 *   type: "text/plain",
 *   ttlSeconds: 3600,
 *   maxBytes: 1 << 20,
 * });
 * const { file: same } = await store.claimDownload(file.id);
 * await new Response(store.read(same)).text(); // "hello"
 * await store.delete(file.id, deleteToken);
 * ```
 */
export class KvLinkStore implements LinkStore {
  #kv: Deno.Kv;
  #now: () => number;
  #chunkSize: number;
  #chunksPerCommit: number;
  #purgeGraceMs: number;
  #staleUploadMs: number;
  #commitsInFlight: number;

  constructor(kv: Deno.Kv, options: LinkStoreOptions = {}) {
    this.#kv = kv;
    this.#now = options.now ?? Date.now;
    this.#chunkSize = options.chunkSize ?? CHUNK_SIZE;
    this.#chunksPerCommit = options.chunksPerCommit ?? CHUNKS_PER_COMMIT;
    this.#purgeGraceMs = options.purgeGraceMs ?? 30 * 60_000;
    this.#staleUploadMs = options.staleUploadMs ?? 10 * 60_000;
    this.#commitsInFlight = Math.max(1, options.commitsInFlight ?? 1);
  }

  /** Commits the operation `build` makes; its versionstamp, or null when a check failed. */
  async #commit(build: () => Deno.AtomicOperation): Promise<string | null> {
    const result = await build().commit();
    return result.ok ? result.versionstamp : null;
  }

  async put(
    source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
    options: PutOptions,
  ): Promise<StoredFile> {
    const kv = this.#kv;
    const id = randomToken(16);
    const deleteToken = `dt_${randomToken(24)}`;
    const ttlMs = options.ttlSeconds * 1000;
    const expireIn = ttlMs + this.#purgeGraceMs + BACKSTOP_MS;
    const leaseKey = uploadKey(id);
    const startedAt = this.#now();
    // The lease is written while the first chunks are read from the body; the chunk
    // commits check it (one versionstamp for the whole upload, so they need not wait
    // for each other: up to `commitsInFlight` run at once).
    const leasing = this.#commit(() =>
      kv.atomic().check({ key: leaseKey, versionstamp: null })
        .set(leaseKey, { startedAt, touchedAt: startedAt, chunks: 0 } satisfies UploadLease, {
          expireIn,
        })
    );
    leasing.catch(() => {}); // observed by the first commit
    let leaseStamp: string | null = null;

    let written = 0;
    const inFlight = new Set<Promise<void>>();
    let failure: unknown = null;
    const writeBatch = async (first: number, chunks: Uint8Array[]): Promise<void> => {
      leaseStamp ??= await leasing;
      if (!leaseStamp) throw new UploadInterruptedError(id);
      const stamp = leaseStamp;
      const progress = { touchedAt: this.#now(), chunks: first + chunks.length };
      const committed = await this.#commit(() => {
        // The lease check fails when a sweeper took this upload for abandoned.
        const operation = kv.atomic().check({ key: leaseKey, versionstamp: stamp });
        chunks.forEach((chunk, offset) =>
          operation.set(chunkKey(id, first + offset), chunk, { expireIn })
        );
        return operation.set(progressKey(id), progress, { expireIn });
      });
      if (!committed) throw new UploadInterruptedError(id);
    };
    // Commits run while the next batches are read from the body.
    const flush = async (chunks: Uint8Array[], done: () => void): Promise<void> => {
      while (inFlight.size >= this.#commitsInFlight) await Promise.race(inFlight);
      if (failure) throw failure;
      const first = written;
      written += chunks.length;
      const commit = writeBatch(first, chunks).then(done, (error) => {
        failure ??= error;
      }).finally(() => inFlight.delete(commit));
      inFlight.add(commit);
    };
    const settle = async (): Promise<void> => {
      await Promise.all(inFlight);
      if (failure) throw failure;
    };

    const hash = createHash("sha256");
    let size = 0;
    // Chunk buffers are reused once their commit is done: no garbage per chunk.
    const pool: Uint8Array<ArrayBuffer>[] = [];
    const takeBuffer = () => pool.pop() ?? new Uint8Array(this.#chunkSize);
    let current = takeBuffer();
    let filled = 0;
    let batch: Uint8Array<ArrayBuffer>[] = [];
    const completeChunk = async (): Promise<void> => {
      batch.push(current);
      current = takeBuffer();
      filled = 0;
      if (batch.length === this.#chunksPerCommit) {
        const full = batch;
        batch = [];
        await flush(full, () => pool.push(...full));
      }
    };
    let budgeted = 0;
    const count = (bytes: number): void => {
      size += bytes;
      if (size > options.maxBytes) throw new FileTooLargeError(options.maxBytes);
      if (options.storage) {
        if (!options.storage.allows("uploads", bytes)) throw new StorageFullError("uploads");
        options.storage.add("uploads", bytes);
        budgeted += bytes;
      }
    };
    try {
      if (source instanceof ReadableStream) {
        // Byte streams (request bodies) are read straight into the chunk buffers.
        const reader = new ByteReader(source, {
          byob: options.byob ?? true,
          idleTimeoutMs: options.idleTimeoutMs,
        });
        try {
          while (true) {
            let got: Uint8Array<ArrayBuffer>;
            try {
              const read = await reader.readInto(
                new Uint8Array(current.buffer, filled, this.#chunkSize - filled),
              );
              // The read moved the chunk's memory to a new ArrayBuffer (also at the end).
              current = new Uint8Array(read.value.buffer);
              if (read.done) break;
              got = read.value;
            } catch (error) {
              if (error instanceof ApiError) throw error;
              throw new UploadAbortedError({ cause: error });
            }
            count(got.byteLength);
            hash.update(got);
            filled += got.byteLength;
            if (filled === this.#chunkSize) await completeChunk();
          }
        } catch (error) {
          await reader.cancel();
          throw error;
        }
      } else {
        const iterator = source[Symbol.asyncIterator]();
        try {
          while (true) {
            let step: IteratorResult<Uint8Array>;
            try {
              step = await iterator.next();
            } catch (error) {
              if (error instanceof ApiError) throw error;
              throw new UploadAbortedError({ cause: error });
            }
            if (step.done) break;
            const piece = step.value;
            count(piece.byteLength);
            hash.update(piece);
            let offset = 0;
            while (offset < piece.byteLength) {
              const take = Math.min(this.#chunkSize - filled, piece.byteLength - offset);
              current.set(piece.subarray(offset, offset + take), filled);
              filled += take;
              offset += take;
              if (filled === this.#chunkSize) await completeChunk();
            }
          }
        } catch (error) {
          await iterator.return?.().catch(() => {});
          throw error;
        }
      }
      if (filled > 0) batch.push(current.slice(0, filled));
      if (batch.length > 0) await flush(batch, () => {});
      await settle();
      leaseStamp ??= await leasing;
      if (!leaseStamp) throw new UploadInterruptedError(id);
      const stamp = leaseStamp;

      const createdAt = this.#now();
      const file: FileRecord = {
        id,
        name: options.name,
        type: options.type,
        size,
        sha256: hash.digest("hex"),
        chunkSize: this.#chunkSize,
        chunkCount: written,
        encrypted: options.encrypted ?? false,
        createdAt,
        expiresAt: createdAt + ttlMs,
        maxDownloads: options.maxDownloads ?? null,
        deleteTokenHash: sha256Hex(deleteToken),
      };
      const visible = await this.#commit(() =>
        kv.atomic().check({ key: leaseKey, versionstamp: stamp })
          .set(fileKey(id), file, { expireIn })
          .set(purgeKey(file.expiresAt + this.#purgeGraceMs, id), { chunks: written })
          .delete(leaseKey).delete(progressKey(id))
      );
      if (!visible) throw new UploadInterruptedError(id);
      return { file, deleteToken };
    } catch (error) {
      options.storage?.add("uploads", -budgeted);
      await Promise.allSettled(inFlight);
      await leasing.catch(() => null);
      await this.#discardUpload(id, written).catch(() => {
        // The lease stays, so a sweeper removes the chunks later.
      });
      throw error;
    }
  }

  async #discardUpload(id: string, chunks: number): Promise<void> {
    await this.#deleteChunks(id, chunks);
    await this.#commit(() => this.#kv.atomic().delete(uploadKey(id)).delete(progressKey(id)));
  }

  async #deleteChunks(id: string, chunks: number): Promise<void> {
    for (let first = 0; first < chunks; first += DELETES_PER_COMMIT) {
      const last = Math.min(chunks, first + DELETES_PER_COMMIT);
      await this.#commit(() => {
        const operation = this.#kv.atomic();
        for (let index = first; index < last; index++) operation.delete(chunkKey(id, index));
        return operation;
      });
    }
  }

  async #deleteChunkPrefix(id: string): Promise<void> {
    let keys: Deno.KvKey[] = [];
    const drain = async () => {
      const batch = keys;
      keys = [];
      await this.#commit(() => {
        const operation = this.#kv.atomic();
        for (const key of batch) operation.delete(key);
        return operation;
      });
    };
    for await (const entry of this.#kv.list({ prefix: chunkKey(id, 0).slice(0, 3) })) {
      keys.push(entry.key);
      if (keys.length >= DELETES_PER_COMMIT) await drain();
    }
    if (keys.length > 0) await drain();
  }

  /** Reads a file's record, count and tombstone, and says whether it can be downloaded. */
  async #lookup(id: string): Promise<{
    available: AvailableFile;
    fileEntry: Deno.KvEntry<unknown>;
    downloadsEntry: Deno.KvEntryMaybe<unknown>;
  }> {
    if (!isFileId(id)) throw new FileNotFoundError(id);
    const [fileEntry, downloadsEntry, goneEntry] = await this.#kv.getMany<
      [unknown, unknown, unknown]
    >([fileKey(id), downloadsKey(id), goneKey(id)]);
    if (fileEntry.versionstamp === null) {
      const gone = goneSchema.safeParse(goneEntry.value);
      if (gone.success) throw new FileGoneError(id, gone.data.reason);
      throw new FileNotFoundError(id);
    }
    const file = fileRecordSchema.parse(fileEntry.value);
    const found: Deno.KvEntry<unknown> = fileEntry;
    if (this.#now() >= file.expiresAt) throw new FileGoneError(id, "expired");
    let downloadsLeft: number | null = null;
    if (file.maxDownloads !== null) {
      const used = typeof downloadsEntry.value === "number" ? downloadsEntry.value : 0;
      downloadsLeft = Math.max(0, file.maxDownloads - used);
      if (downloadsLeft === 0) throw new FileGoneError(id, "consumed");
    }
    return { available: { file, downloadsLeft }, fileEntry: found, downloadsEntry };
  }

  async get(id: string): Promise<AvailableFile> {
    return (await this.#lookup(id)).available;
  }

  async claimDownload(id: string): Promise<AvailableFile> {
    while (true) {
      const { available, fileEntry, downloadsEntry } = await this.#lookup(id);
      const { file, downloadsLeft } = available;
      if (downloadsLeft === null) return available;
      const used = file.maxDownloads! - downloadsLeft + 1;
      const now = this.#now();
      const committed = await this.#commit(() => {
        // Both checks: a concurrent claim moves the count, a delete or purge removes the file.
        const operation = this.#kv.atomic().check(fileEntry).check(downloadsEntry)
          .set(downloadsKey(id), used, {
            expireIn: Math.max(1, file.expiresAt - now) + this.#purgeGraceMs + BACKSTOP_MS,
          });
        if (used >= file.maxDownloads!) {
          // The last download: purge once it had time to finish.
          operation.set(purgeKey(now + this.#purgeGraceMs, id), { chunks: file.chunkCount });
        }
        return operation;
      });
      if (committed) return { file, downloadsLeft: downloadsLeft - 1 };
    }
  }

  read(file: FileRecord, range?: ByteRange): ReadableStream<Uint8Array> {
    const start = range?.start ?? 0;
    const end = range?.end ?? file.size - 1;
    const kv = this.#kv;
    const chunkSize = file.chunkSize;
    const firstChunk = Math.floor(start / chunkSize);
    const lastChunk = end < start ? firstChunk - 1 : Math.floor(end / chunkSize);
    let next = firstChunk;
    let prefetch: Promise<Uint8Array[]> | null = null;
    let queue: Uint8Array[] = [];

    const fetchBatch = async (from: number): Promise<Uint8Array[]> => {
      const to = Math.min(lastChunk, from + CHUNKS_PER_READ - 1);
      const keys: Deno.KvKey[] = [];
      for (let index = from; index <= to; index++) keys.push(chunkKey(file.id, index));
      const entries = await kv.getMany<Uint8Array[]>(keys);
      return entries.map((entry, offset) => {
        const index = from + offset;
        const expected = index === file.chunkCount - 1 ? file.size - index * chunkSize : chunkSize;
        if (!(entry.value instanceof Uint8Array) || entry.value.byteLength !== expected) {
          throw new Error(`Cannot read file "${file.id}": chunk ${index} is missing`);
        }
        const chunkStart = index * chunkSize;
        return entry.value.subarray(
          Math.max(0, start - chunkStart),
          Math.min(entry.value.byteLength, end + 1 - chunkStart),
        );
      });
    };
    const startFetch = (from: number): Promise<Uint8Array[]> => {
      const promise = fetchBatch(from);
      promise.catch(() => {}); // observed when awaited
      return promise;
    };

    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (queue.length === 0) {
          if (next > lastChunk) {
            controller.close();
            return;
          }
          const batch = await (prefetch ?? startFetch(next));
          next += batch.length;
          prefetch = next <= lastChunk ? startFetch(next) : null;
          queue = batch;
        }
        controller.enqueue(queue.shift()!);
      },
      cancel() {
        queue = [];
        prefetch = null;
      },
    }, { highWaterMark: 1 });
  }

  async delete(id: string, deleteToken: string): Promise<void> {
    if (!isFileId(id)) throw new FileNotFoundError(id);
    while (true) {
      const entry = await this.#kv.get(fileKey(id));
      if (entry.versionstamp === null) {
        const gone = await this.#kv.get(goneKey(id));
        const parsed = goneSchema.safeParse(gone.value);
        if (parsed.success) throw new FileGoneError(id, parsed.data.reason);
        throw new FileNotFoundError(id);
      }
      const file = fileRecordSchema.parse(entry.value);
      if (!timingSafeEqual(sha256Hex(deleteToken), file.deleteTokenHash)) {
        throw new WrongDeleteTokenError(id);
      }
      const now = this.#now();
      const scheduled = purgeKey(now, id);
      const committed = await this.#commit(() =>
        this.#kv.atomic().check(entry)
          .delete(fileKey(id))
          .delete(downloadsKey(id))
          .set(goneKey(id), { reason: "deleted", at: now }, { expireIn: TOMBSTONE_MS })
          .delete(purgeKey(file.expiresAt + this.#purgeGraceMs, id))
          .set(scheduled, { chunks: file.chunkCount })
      );
      if (!committed) continue;
      // The schedule stays until the chunks are gone, so a crash here is finished by a sweeper.
      await this.#purge(scheduled, id, file.chunkCount);
      return;
    }
  }

  /** Removes a file's record (leaving a tombstone), then its chunks, then the schedule entry. */
  async #purge(scheduleKey: Deno.KvKey, id: string, chunks: number): Promise<void> {
    const entry = await this.#kv.get(fileKey(id));
    if (entry.versionstamp !== null) {
      const parsed = fileRecordSchema.safeParse(entry.value);
      const now = this.#now();
      const reason: GoneReason = !parsed.success || now >= parsed.data.expiresAt
        ? "expired"
        : "consumed";
      await this.#commit(() =>
        this.#kv.atomic().check(entry)
          .delete(fileKey(id))
          .delete(downloadsKey(id))
          .set(goneKey(id), { reason, at: now }, { expireIn: TOMBSTONE_MS })
      );
    }
    await this.#deleteChunks(id, chunks);
    await this.#kv.delete(scheduleKey);
  }

  async sweep(): Promise<SweepReport> {
    const now = this.#now();
    const report: SweepReport = { files: 0, uploads: 0 };
    const due: Array<{ key: Deno.KvKey; id: string; chunks: number }> = [];
    for await (
      const entry of this.#kv.list({ prefix: PURGE_PREFIX, end: [...PURGE_PREFIX, now + 1] })
    ) {
      const id = entry.key[3];
      const parsed = purgeSchema.safeParse(entry.value);
      if (typeof id !== "string" || !parsed.success) {
        await this.#kv.delete(entry.key);
        continue;
      }
      due.push({ key: entry.key, id, chunks: parsed.data.chunks });
    }
    for (const item of due) {
      await this.#purge(item.key, item.id, item.chunks);
      report.files++;
    }

    const stale: Array<{ entry: Deno.KvEntry<unknown>; id: string; lease: UploadLease }> = [];
    for await (const entry of this.#kv.list({ prefix: UPLOAD_PREFIX })) {
      const id = entry.key[2];
      const parsed = uploadLeaseSchema.safeParse(entry.value);
      if (typeof id !== "string" || !parsed.success) continue;
      const progress = uploadProgressSchema.safeParse(
        (await this.#kv.get(progressKey(id))).value,
      );
      const touchedAt = Math.max(parsed.data.touchedAt, progress.data?.touchedAt ?? 0);
      if (parsed.data.abandoned || now - touchedAt >= this.#staleUploadMs) {
        stale.push({ entry, id, lease: parsed.data });
      }
    }
    for (const { entry, id, lease } of stale) {
      // Marking it first moves the versionstamp, so a still-running upload fails its next commit.
      const marked = await this.#commit(() =>
        this.#kv.atomic().check(entry).set(uploadKey(id), { ...lease, abandoned: true })
      );
      if (!marked) continue;
      // Chunk commits run several at a time: delete whatever landed, by prefix.
      await this.#deleteChunkPrefix(id);
      await this.#commit(() => this.#kv.atomic().delete(uploadKey(id)).delete(progressKey(id)));
      report.uploads++;
    }
    return report;
  }
}
