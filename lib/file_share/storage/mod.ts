/**
 * @module
 * Where a receive page keeps received bytes: files in the Origin Private File
 * System, written as they arrive ({@linkcode ReceiveStore}, {@linkcode OpfsSink}),
 * and whether a transfer fits in the space the browser grants
 * ({@linkcode checkSpace}). Browser-safe; the in-memory last resort is
 * `BlobSink` in `../sinks.ts`.
 *
 * @example
 * ```ts
 * import { checkSpace, estimateSpace, openReceiveStore } from "./mod.ts";
 *
 * const store = await openReceiveStore(); // null: keep files in memory
 * const space = checkSpace(5_000_000, await estimateSpace());
 * if (!space.fits) console.log(space.message);
 * ```
 */
export { checkSpace, estimateSpace, type SpaceCheck, type SpaceEstimate } from "./space.ts";
export {
  DEFAULT_BATCH_BYTES,
  DEFAULT_SEGMENT_BYTES,
  type FileHandleLike,
  OpfsSink,
  type OpfsSinkOptions,
  type SegmentFiles,
  type StoredSegment,
  type WritableLike,
} from "./opfs_sink.ts";
export {
  type DirectoryLike,
  openReceiveStore,
  RECEIVE_FOLDER,
  ReceiveStore,
  STALE_AFTER_MS,
  type StorageManagerLike,
} from "./receive_store.ts";
