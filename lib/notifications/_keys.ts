/** KV keys of the notification store. Every key starts with "notify". */

/** The record of one notification of one user. */
export function recordKey(userId: string, id: string): Deno.KvKey {
  return ["notify", "record", userId, id];
}

/**
 * When a notification first reached a connection (ISO time), kept beside its
 * record so marking deliveries needs no read: many go into one commit.
 */
export function deliveredKey(userId: string, id: string): Deno.KvKey {
  return ["notify", "delivered", userId, id];
}

/** A user's history index, ordered by `seq`: value `{id, at, read?}`. */
export function historyKey(userId: string, seq: string): Deno.KvKey {
  return ["notify", "history", userId, seq];
}

/** Prefix of a user's history index. */
export function historyPrefix(userId: string): Deno.KvKey {
  return ["notify", "history", userId];
}

/** A user's notifications that require an ack and have none yet: value is the id. */
export function pendingKey(userId: string, seq: string): Deno.KvKey {
  return ["notify", "pending", userId, seq];
}

/** Prefix of a user's unacked notifications. */
export function pendingPrefix(userId: string): Deno.KvKey {
  return ["notify", "pending", userId];
}

/** The audit log across users, ordered by `seq`: value is the notification id. */
export function logKey(seq: string, userId: string): Deno.KvKey {
  return ["notify", "log", seq, userId];
}

/** Prefix of the audit log. */
export const LOG_PREFIX: Deno.KvKey = ["notify", "log"];

/** A retry step due at `at` (ms): the index every isolate's takeover sweep reads. */
export function dueKey(at: number, userId: string, id: string): Deno.KvKey {
  return ["notify", "due", at, userId, id];
}

/** Prefix of the due index. */
export const DUE_PREFIX: Deno.KvKey = ["notify", "due"];

/** Which isolate drives a notification's retries, and until when: `{owner, expiresAt}`. */
export function leaseKey(userId: string, id: string): Deno.KvKey {
  return ["notify", "lease", userId, id];
}

/** A user's preferences. */
export function preferencesKey(userId: string): Deno.KvKey {
  return ["notify", "preferences", userId];
}
