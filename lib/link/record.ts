/** The values link mode keeps in KV, with zod schemas to check them when read back. */
import { z } from "zod";

/** A finished, downloadable file. */
export const fileRecordSchema = z.object({
  id: z.string(),
  /** Cleaned file name (see `sanitizeFilename`); `encrypted.bin` for encrypted uploads. */
  name: z.string(),
  /** Media type as the uploader declared it. */
  type: z.string(),
  /** Stored bytes (for encrypted uploads: the ciphertext). */
  size: z.number().int().nonnegative(),
  /** SHA-256 of the stored bytes, lowercase hex. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  chunkSize: z.number().int().positive(),
  chunkCount: z.number().int().nonnegative(),
  /** True when the browser encrypted the file; the server cannot read it. */
  encrypted: z.boolean(),
  /** Milliseconds since the epoch. */
  createdAt: z.number(),
  /** Milliseconds since the epoch; reads fail with 410 from then on. */
  expiresAt: z.number(),
  /** Downloads allowed in all, or null for no limit. */
  maxDownloads: z.number().int().positive().nullable(),
  /** SHA-256 (hex) of the delete token; the token itself is never stored. */
  deleteTokenHash: z.string(),
});

/** A finished, downloadable file. */
export type FileRecord = z.infer<typeof fileRecordSchema>;

/** The lease of an upload in progress: lets the sweeper find and remove abandoned chunks. */
export const uploadLeaseSchema = z.object({
  startedAt: z.number(),
  touchedAt: z.number(),
  /** Chunks written so far (indexes `0 … chunks - 1`). */
  chunks: z.number().int().nonnegative(),
  /** Set by the sweeper before it deletes the chunks of a stale upload. */
  abandoned: z.boolean().optional(),
});

/** The lease of an upload in progress. */
export type UploadLease = z.infer<typeof uploadLeaseSchema>;

/**
 * How far an upload got, written (without a read) by each chunk commit; chunk
 * commits run several at a time, so `chunks` is the highest index written + 1
 * by the commit that wrote it, and the sweeper deletes chunks by prefix anyway.
 */
export const uploadProgressSchema = z.object({
  touchedAt: z.number(),
  chunks: z.number().int().nonnegative(),
});

/** A scheduled purge: how many chunks to delete. */
export const purgeSchema = z.object({ chunks: z.number().int().nonnegative() });

/** What a tombstone remembers. */
export const goneSchema = z.object({
  reason: z.enum(["expired", "consumed", "deleted"]),
  at: z.number(),
});
