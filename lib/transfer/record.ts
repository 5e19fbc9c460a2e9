/** The values a transfer session keeps in KV, with zod schemas to check them when read back. */
import { z } from "zod";

/** At most this many files are announced per session. */
export const MAX_FILES = 100;
/** Longest file name, in characters. */
const MAX_FILE_NAME = 255;
/** Longest media type, in characters. */
const MAX_FILE_TYPE = 127;

/**
 * One announced file: what the receiver sees before accepting. Only metadata:
 * the bytes travel browser to browser (or through link mode).
 */
export const fileInfoSchema = z.object({
  name: z.string().trim().min(1).max(MAX_FILE_NAME)
    .refine((name) => !/[\u0000-\u001f\u007f]/.test(name), "must not contain control characters"),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  type: z.string().max(MAX_FILE_TYPE)
    .refine((type) => !/[\u0000-\u001f\u007f]/.test(type), "must not contain control characters")
    .default(""),
}).strict();

/** One announced file. */
export type FileInfo = z.infer<typeof fileInfoSchema>;

/**
 * Characters the whole file list may take as JSON. Together with the count cap
 * it keeps a session record far below KV's 64 KiB value limit, whatever the
 * script of the names (KV stores non-Latin-1 strings as two bytes per unit).
 */
const MAX_FILE_LIST_CHARS = 16 * 1024;

/** The file list of a session (at most {@linkcode MAX_FILES}, {@linkcode MAX_FILE_LIST_CHARS}). */
export const fileListSchema = z.array(fileInfoSchema).max(MAX_FILES).refine(
  (files) => JSON.stringify(files).length <= MAX_FILE_LIST_CHARS,
  `the file list is too long: at most ${MAX_FILE_LIST_CHARS} characters as JSON`,
);

/** Where a session is in its life: `created → joined → closed | expired`. */
export const TRANSFER_STATES = ["created", "joined", "closed", "expired"] as const;

/** Where a session is in its life. */
export type TransferState = (typeof TRANSFER_STATES)[number];

/** Who holds a token: the sender made the session ("creator"), the receiver joined it ("joiner"). */
export type TransferRole = "creator" | "joiner";

/** A transfer session as stored under `["transfer", id]`. */
export const transferRecordSchema = z.object({
  id: z.string(),
  code: z.string(),
  state: z.enum(TRANSFER_STATES),
  files: fileListSchema,
  /** Milliseconds since the epoch. */
  createdAt: z.number(),
  /** When a live session stops being usable (ms); re-checked on every read. */
  expiresAt: z.number(),
  joinedAt: z.number().nullable(),
  /** Last time a peer was connected to a live session (ms). */
  lastActiveAt: z.number().nullable(),
  /** When it was closed or expired (ms). */
  endedAt: z.number().nullable(),
  /** Who closed it: a role, or "server" for expiry. */
  endedBy: z.enum(["creator", "joiner", "server"]).nullable(),
  /** SHA-256 (hex) of the sender token; tokens themselves are never stored. */
  senderTokenHash: z.string(),
  /** SHA-256 (hex) of the receiver token, once joined. */
  receiverTokenHash: z.string().nullable(),
});

/** A transfer session. */
export type TransferRecord = z.infer<typeof transferRecordSchema>;

/** True while a session can still be joined or used for signaling. */
export function isLive(state: TransferState): boolean {
  return state === "created" || state === "joined";
}

/**
 * The state a session is really in at `now`: a live session whose time ran out
 * is expired even if no sweep has stored that yet (KV's `expireIn` is only the
 * earliest deletion, so nothing may rely on it).
 */
export function effectiveState(record: TransferRecord, now: number): TransferState {
  return isLive(record.state) && record.expiresAt <= now ? "expired" : record.state;
}

/** Lifetimes of sessions, in milliseconds. */
export interface LifetimePolicy {
  /** How long a joined session lives after the last peer left (default 1 h). */
  idleMs: number;
  /** The longest any session lives, counted from its creation (default 24 h). */
  maxAgeMs: number;
}

/**
 * When a joined session expires if a peer was last connected at `activeAt`:
 * an hour (the idle time) later, but never past its maximum age.
 */
export function joinedExpiry(
  record: Pick<TransferRecord, "createdAt">,
  activeAt: number,
  policy: LifetimePolicy,
): number {
  return Math.min(activeAt + policy.idleMs, record.createdAt + policy.maxAgeMs);
}
