/** KV keys of transfer sessions, in one place so the layout is easy to read. */

/** Prefix of every session's record. */
export const RECORD_PREFIX: Deno.KvKey = ["transfer"];

/** A session's record. */
export function recordKey(id: string): Deno.KvKey {
  return [...RECORD_PREFIX, id];
}

/**
 * The session holding a code, as a copy of its record: a join reads it in one
 * round trip. Written in the same commits as the record (so the two carry the
 * same versionstamp) for as long as the code is the session's.
 */
export function codeKey(code: string): Deno.KvKey {
  return ["transfer_code", code];
}

/**
 * When a session is due for the sweeper: its expiry while live, its purge once
 * ended. Ordered by time, so a sweep reads only what is due.
 */
export function dueKey(at: number, id: string): Deno.KvKey {
  return ["transfer_due", at, id];
}

/** Prefix of every due entry. */
export const DUE_PREFIX: Deno.KvKey = ["transfer_due"];
