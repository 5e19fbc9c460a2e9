/** KV keys of the notification store. Every key starts with "notify". */

/**
 * One notification of one user, keyed by `seq` (the publish's time-ordered id):
 * listing a user's records is listing their history, newest last.
 */
export function recordKey(userId: string, seq: string): Deno.KvKey {
  return ["notify", "n", userId, seq];
}

/** Prefix of a user's records (their history). */
export function recordPrefix(userId: string): Deno.KvKey {
  return ["notify", "n", userId];
}

/**
 * Where the record of a notification whose id the publisher chose lives: value
 * its `seq`. (A generated id is the `seq` itself and needs no alias.)
 */
export function aliasKey(userId: string, id: string): Deno.KvKey {
  return ["notify", "id", userId, id];
}

/**
 * When a notification reached a connection (ISO time), one key per user and
 * notification: what releases before 2026-12-05 wrote, still read (and trimmed)
 * so their marks are not lost. New marks go to {@linkcode deliveryRowKey}.
 */
export function deliveredKey(userId: string, id: string): Deno.KvKey {
  return ["notify", "delivered", userId, id];
}

/**
 * Delivery marks of one publish (`seq`) for the users of one shard, written by
 * one flush of one isolate: value `{at, users}`. A fan-out to 1,000 users
 * costs a few rows instead of 1,000; a user's mark is found by listing
 * {@linkcode deliveryShardPrefix} (a few small rows).
 */
export function deliveryRowKey(seq: string, shard: number, row: string): Deno.KvKey {
  return ["notify", "dby", seq, shard, row];
}

/** The delivery rows of one publish that can hold a user of `shard`. */
export function deliveryShardPrefix(seq: string, shard: number): Deno.KvKey {
  return ["notify", "dby", seq, shard];
}

/** A user's notifications that require an ack and have none yet: value is the id. */
export function pendingKey(userId: string, seq: string): Deno.KvKey {
  return ["notify", "pending", userId, seq];
}

/** Prefix of a user's unacked notifications. */
export function pendingPrefix(userId: string): Deno.KvKey {
  return ["notify", "pending", userId];
}

/**
 * The audit log across users, ordered by publish: rows `[...logKey(seq), <commit>]`
 * hold the ids of the users one commit stored that publish for (one row per
 * commit, not per recipient).
 */
export function logKey(seq: string): Deno.KvKey {
  return ["notify", "log", seq];
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
