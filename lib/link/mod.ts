/**
 * @module
 * Link mode's storage: files streamed into Deno KV in chunks, visible only once
 * complete, with expiry, download limits, delete tokens and a sweeper; plus the
 * HTTP-level helpers the routes need (streaming multipart, safe file names, ranges).
 * A {@linkcode LinkService} owns one isolate's store and sweeper.
 *
 * @example
 * ```ts
 * import { KvLinkStore } from "./mod.ts";
 * import { startSweeper } from "../periodic/mod.ts";
 *
 * const store = new KvLinkStore(await Deno.openKv(":memory:"));
 * using _sweeper = startSweeper(store, { intervalMs: 60_000 });
 * ```
 */
export {
  type AvailableFile,
  type ByteRange,
  CHUNK_SIZE,
  CHUNKS_PER_COMMIT,
  isFileId,
  KvLinkStore,
  type LinkStore,
  type LinkStoreOptions,
  type PutOptions,
  type StoredFile,
  type SweepReport,
} from "./store.ts";
export { type LinkCore, LinkService, type LinkServiceOptions } from "./service.ts";
export type { FileRecord } from "./record.ts";
export {
  contentDisposition,
  decodeFilenameHeader,
  normalizeMediaType,
  sanitizeFilename,
  servedContentType,
} from "./filename.ts";
export { parseRange, type RangeRequest } from "./range.ts";
export { multipartBoundary, type MultipartFile, readMultipartFile } from "./multipart.ts";
export {
  FileGoneError,
  FileNotFoundError,
  FileTooLargeError,
  type GoneReason,
  InvalidFilenameError,
  MultipartError,
  StorageFullError,
  UploadAbortedError,
  UploadInterruptedError,
  WrongDeleteTokenError,
} from "./errors.ts";
