/**
 * The control messages of the file-share protocol over an `RTCDataChannel`.
 * They travel as JSON text messages; file bytes travel as binary messages in
 * between (see docs/protocol.md, "File share over a data channel").
 *
 * The other peer is not trusted: every message is checked field by field before
 * use ({@linkcode parseControlMessage}). The checks are hand-written rather than
 * zod so that the receive page's bundle stays small.
 */

/** Version of the data-channel protocol, sent in the manifest. */
export const PROTOCOL_VERSION = 2;
/** Most files in one transfer (the same cap as the signaling server's file list). */
export const MAX_FILES = 100;
/** Longest file name, in characters. */
export const MAX_NAME_CHARS = 255;
/** Longest media type, in characters. */
export const MAX_TYPE_CHARS = 127;
/** Longest reason of a `cancel`, in characters. */
export const MAX_REASON_CHARS = 200;
/** Largest control message accepted, in characters (a manifest of 100 long names fits). */
export const MAX_CONTROL_CHARS = 64 * 1024;
/** Smallest and largest chunk a sender may announce, in bytes. */
export const MIN_CHUNK_BYTES = 16 * 1024;
export const MAX_CHUNK_BYTES = 256 * 1024;

/** One file as the manifest announces it. */
export interface ManifestFile {
  /** Position in the manifest, 0-based; files are sent in this order. */
  index: number;
  name: string;
  size: number;
  /** Media type; "" when unknown. */
  type: string;
  /** SHA-256 (hex) when the sender knew it before sending; otherwise it comes with `file-end`. */
  sha256: string | null;
}

/** Sender → receiver, first: what is coming. */
export interface ManifestMessage {
  type: "manifest";
  version: number;
  files: ManifestFile[];
  totalBytes: number;
  /** Bytes per binary message (the last one of a file may be shorter). */
  chunkBytes: number;
}

/**
 * Sender → receiver: the bytes of file `index` follow, from byte `offset` to
 * its end (`offset` is 0, or the receiver's `resume` offset when the sender's
 * bytes before it hash to the receiver's `sha256`).
 */
export interface FileStartMessage {
  type: "file-start";
  index: number;
  offset: number;
}

/**
 * Receiver → sender, the answer to every `manifest`: what the receiver already
 * holds from an earlier connection of the same transfer (nothing on a first
 * connection). Files `verified` and `failed` are not sent again; of file
 * `index` it holds the first `offset` bytes, whose SHA-256 is `sha256` (null
 * when `offset` is 0). `index` equals the number of files when nothing is left.
 */
export interface ResumeMessage {
  type: "resume";
  verified: number[];
  failed: number[];
  index: number;
  offset: number;
  sha256: string | null;
}

/** Sender → receiver: every byte of file `index` was sent; its SHA-256. */
export interface FileEndMessage {
  type: "file-end";
  index: number;
  sha256: string;
}

/**
 * Receiver → sender, as writes finish: every byte up to `bytes` (counted over
 * all files back to back, in manifest order) is stored. The sender keeps at
 * most a window of bytes beyond it in flight, so what a reload loses (received
 * but not yet stored) stays small, and so does the receiver's write backlog.
 */
export interface StoredMessage {
  type: "stored";
  bytes: number;
}

/** Sender → receiver: no more files. */
export interface DoneMessage {
  type: "done";
}

/** Receiver → sender: file `index` arrived and its SHA-256 matched. */
export interface FileVerifiedMessage {
  type: "file-verified";
  index: number;
  sha256: string;
}

/** Receiver → sender: file `index` arrived damaged (or could not be stored). */
export interface FileFailedMessage {
  type: "file-failed";
  index: number;
  code: "hash_mismatch" | "write_failed";
  message: string;
}

/** Receiver → sender, last: the receiver has everything (acknowledges `done`). */
export interface CompleteMessage {
  type: "complete";
  /** Indexes of the files that arrived intact. */
  verified: number[];
  /** Indexes of the files that did not. */
  failed: number[];
}

/** Either side: stop now. */
export interface CancelMessage {
  type: "cancel";
  reason: string;
}

/** Any control message. */
export type ControlMessage =
  | ManifestMessage
  | FileStartMessage
  | ResumeMessage
  | StoredMessage
  | FileEndMessage
  | DoneMessage
  | FileVerifiedMessage
  | FileFailedMessage
  | CompleteMessage
  | CancelMessage;

/** The peer broke the protocol: a malformed message or one out of order. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** Serializes a control message. */
export function encodeControlMessage(message: ControlMessage): string {
  return JSON.stringify(message);
}

type Fields = Record<string, unknown>;

function fail(what: string): never {
  throw new ProtocolError(`Malformed message from the peer: ${what}`);
}

function index(fields: Fields, max = MAX_FILES - 1): number {
  const value = fields.index;
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > max) {
    fail("index");
  }
  return value as number;
}

function hex64(value: unknown, what: string): string {
  if (typeof value !== "string" || !/^[0-9a-f]{64}$/.test(value)) fail(what);
  return value;
}

function text(value: unknown, max: number, what: string): string {
  if (typeof value !== "string" || value.length > max || /[\u0000-\u001f\u007f]/.test(value)) {
    fail(what);
  }
  return value;
}

function byteOffset(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) fail("offset");
  return value as number;
}

function indexList(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || value.length > MAX_FILES) fail(what);
  return value.map((item) => index({ index: item }));
}

function manifestFile(value: unknown, position: number): ManifestFile {
  if (typeof value !== "object" || value === null) fail(`files[${position}]`);
  const fields = value as Fields;
  if (fields.index !== position) fail(`files[${position}].index`);
  const name = text(fields.name, MAX_NAME_CHARS, `files[${position}].name`);
  if (name.trim().length === 0) fail(`files[${position}].name`);
  const size = fields.size;
  if (!Number.isSafeInteger(size) || (size as number) < 0) fail(`files[${position}].size`);
  const sha256 = fields.sha256 === null || fields.sha256 === undefined
    ? null
    : hex64(fields.sha256, `files[${position}].sha256`);
  return {
    index: position,
    name,
    size: size as number,
    type: text(fields.type ?? "", MAX_TYPE_CHARS, `files[${position}].type`),
    sha256,
  };
}

/**
 * Parses and checks one text message from the peer.
 *
 * @example
 * ```ts
 * parseControlMessage('{"type":"file-start","index":0}'); // { type: "file-start", index: 0 }
 * parseControlMessage('{"type":"file-start"}'); // throws ProtocolError
 * ```
 */
export function parseControlMessage(data: string): ControlMessage {
  if (data.length > MAX_CONTROL_CHARS) fail("too long");
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    fail("not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) fail("not an object");
  const fields = parsed as Fields;
  switch (fields.type) {
    case "manifest": {
      if (fields.version !== PROTOCOL_VERSION) {
        throw new ProtocolError(
          `The sender speaks version ${
            String(fields.version)
          } of the protocol; this page speaks ${PROTOCOL_VERSION}`,
        );
      }
      if (!Array.isArray(fields.files) || fields.files.length > MAX_FILES) fail("files");
      const files = fields.files.map(manifestFile);
      const totalBytes = files.reduce((sum, file) => sum + file.size, 0);
      if (fields.totalBytes !== totalBytes) fail("totalBytes");
      const chunkBytes = fields.chunkBytes;
      if (
        !Number.isSafeInteger(chunkBytes) || (chunkBytes as number) < MIN_CHUNK_BYTES ||
        (chunkBytes as number) > MAX_CHUNK_BYTES
      ) fail("chunkBytes");
      return {
        type: "manifest",
        version: PROTOCOL_VERSION,
        files,
        totalBytes,
        chunkBytes: chunkBytes as number,
      };
    }
    case "file-start":
      return { type: "file-start", index: index(fields), offset: byteOffset(fields.offset ?? 0) };
    case "stored":
      return { type: "stored", bytes: byteOffset(fields.bytes) };
    case "resume": {
      const offset = byteOffset(fields.offset);
      const sha256 = fields.sha256 === null ? null : hex64(fields.sha256, "sha256");
      if ((offset > 0) !== (sha256 !== null)) fail("sha256");
      return {
        type: "resume",
        verified: indexList(fields.verified, "verified"),
        failed: indexList(fields.failed, "failed"),
        index: index(fields, MAX_FILES),
        offset,
        sha256,
      };
    }
    case "file-end":
      return { type: "file-end", index: index(fields), sha256: hex64(fields.sha256, "sha256") };
    case "done":
      return { type: "done" };
    case "file-verified":
      return {
        type: "file-verified",
        index: index(fields),
        sha256: hex64(fields.sha256, "sha256"),
      };
    case "file-failed": {
      if (fields.code !== "hash_mismatch" && fields.code !== "write_failed") fail("code");
      return {
        type: "file-failed",
        index: index(fields),
        code: fields.code,
        message: text(fields.message ?? "", MAX_REASON_CHARS, "message"),
      };
    }
    case "complete":
      return {
        type: "complete",
        verified: indexList(fields.verified, "verified"),
        failed: indexList(fields.failed, "failed"),
      };
    case "cancel":
      return { type: "cancel", reason: text(fields.reason ?? "", MAX_REASON_CHARS, "reason") };
    default:
      fail(`unknown type ${JSON.stringify(String(fields.type)).slice(0, 40)}`);
  }
}
