/** KV keys of link mode, in one place so the layout is easy to read. */

/** The finished file's record; present only once the upload completed. */
export function fileKey(id: string): Deno.KvKey {
  return ["link", "file", id];
}

/** One chunk of a file's bytes. */
export function chunkKey(id: string, index: number): Deno.KvKey {
  return ["link", "chunk", id, index];
}

/** Download counter of a file with `maxDownloads`. */
export function downloadsKey(id: string): Deno.KvKey {
  return ["link", "downloads", id];
}

/**
 * The lease of an upload in progress, written once when it starts: every chunk
 * commit checks it (the sweeper moves it to take an abandoned upload over).
 */
export function uploadKey(id: string): Deno.KvKey {
  return ["link", "upload", id];
}

/** How far an upload in progress got: `{touchedAt, chunks}`, written with each chunk commit. */
export function progressKey(id: string): Deno.KvKey {
  return ["link", "progress", id];
}

/** Prefix of every upload lease. */
export const UPLOAD_PREFIX: Deno.KvKey = ["link", "upload"];

/** A scheduled purge of a file's record and chunks, ordered by time. */
export function purgeKey(at: number, id: string): Deno.KvKey {
  return ["link", "purge", at, id];
}

/** Prefix of every scheduled purge. */
export const PURGE_PREFIX: Deno.KvKey = ["link", "purge"];

/** A tombstone that keeps answering 410 for a while after a file was purged. */
export function goneKey(id: string): Deno.KvKey {
  return ["link", "gone", id];
}
