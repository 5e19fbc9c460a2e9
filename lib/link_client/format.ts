/**
 * The end-to-end encryption format of link mode ("SBE1"). The browser encrypts
 * before upload; the key never leaves the URL fragment. Records are decrypted
 * one at a time, so a download never needs the whole file in memory, and the
 * record order, the end of the file and the header are all authenticated.
 *
 * ```
 * header    20 bytes  "SBE1" | recordSize u32 BE | noncePrefix 7 bytes | 0x00 | metadataLength u32 BE
 * metadata  metadataLength bytes: AES-256-GCM(JSON {name,type,size,lastModified} padded with spaces to 256 B)
 * records   AES-256-GCM(recordSize bytes of the file) … the last one 0…recordSize bytes
 *
 * IV (12 bytes) = noncePrefix (7) | counter u32 BE (4) | flag (1)
 *   metadata: counter 0, flag 2 · record i (from 1): counter i, flag 1 on the last record, else 0
 * Additional data of every record: the 20-byte header.
 * ```
 */
import { DecryptionError } from "./errors.ts";

/** Bytes of the fixed header. */
export const HEADER_BYTES = 20;
/** Plaintext bytes per record. */
export const DEFAULT_RECORD_SIZE = 64 * 1024;
/** Bytes of a GCM tag. */
export const TAG_BYTES = 16;
/** Header and metadata together never pass this, so the server can hand them out cheaply. */
export const MAX_HEADER_AND_METADATA_BYTES = 4096;
const MAGIC = [0x53, 0x42, 0x45, 0x31]; // "SBE1"
const METADATA_PADDING = 256;
const FLAG_DATA = 0;
const FLAG_LAST = 1;
const FLAG_METADATA = 2;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the encrypted metadata record holds. */
export interface EncryptedMetadata {
  name: string;
  type: string;
  /** Plaintext size in bytes. */
  size: number;
  /** ms since the epoch, if the file had one. */
  lastModified?: number;
}

/** A fresh random AES-256-GCM key (extractable, so it can go into a link). */
export async function generateKey(): Promise<CryptoKey> {
  return await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
    "encrypt",
    "decrypt",
  ]);
}

/** The 32 raw bytes of a key. */
export async function exportKey(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("raw", key));
}

/** A key from its 32 raw bytes. */
export async function importKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.byteLength !== 32) throw new DecryptionError("The key must be 32 bytes");
  return await crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

function iv(noncePrefix: Uint8Array, counter: number, flag: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(12);
  bytes.set(noncePrefix, 0);
  new DataView(bytes.buffer).setUint32(7, counter);
  bytes[11] = flag;
  return bytes;
}

/** Number of data records for a plaintext of `size` bytes (an empty file has one empty record). */
function recordCount(size: number, recordSize: number): number {
  return Math.max(1, Math.ceil(size / recordSize));
}

/** The ciphertext size for a plaintext of `size` bytes, given the metadata record's length. */
export function encryptedSize(
  size: number,
  metadataLength: number,
  recordSize = DEFAULT_RECORD_SIZE,
): number {
  return HEADER_BYTES + metadataLength + size + TAG_BYTES * recordCount(size, recordSize);
}

/** Plaintext metadata: JSON padded with spaces, so the name's length shows only coarsely. */
function encodeMetadata(metadata: EncryptedMetadata): Uint8Array {
  const limit = MAX_HEADER_AND_METADATA_BYTES - HEADER_BYTES - TAG_BYTES;
  let json = encoder.encode(JSON.stringify(metadata));
  if (json.byteLength > limit) {
    json = encoder.encode(JSON.stringify({ ...metadata, name: metadata.name.slice(0, 200) }));
  }
  const padded = Math.min(
    Math.floor(limit / METADATA_PADDING) * METADATA_PADDING,
    Math.ceil(json.byteLength / METADATA_PADDING) * METADATA_PADDING,
  );
  const bytes = new Uint8Array(Math.max(padded, json.byteLength)).fill(0x20);
  bytes.set(json);
  return bytes;
}

/** Options of {@linkcode encryptBlob}. */
export interface EncryptOptions {
  /** File name, type and time to seal into the metadata record. */
  metadata?: Partial<Omit<EncryptedMetadata, "size">>;
  /** Plaintext bytes per record. Default 64 KiB. */
  recordSize?: number;
  /** Called as bytes are encrypted. */
  onProgress?: (encrypted: number, total: number) => void;
  /** Stops the work with an `AbortError`. */
  signal?: AbortSignal;
}

/**
 * Encrypts a file or blob into an SBE1 blob, reading it a slice at a time. The
 * result is assembled from small blobs, which browsers may keep on disk.
 *
 * @example
 * ```ts
 * const file = new File(["hello"], "hello.txt", { type: "text/plain" });
 * const key = await generateKey();
 * const sealed = await encryptBlob(file, key, { metadata: { name: file.name, type: file.type } });
 * ```
 */
export async function encryptBlob(
  blob: Blob,
  key: CryptoKey,
  options: EncryptOptions = {},
): Promise<Blob> {
  const recordSize = options.recordSize ?? DEFAULT_RECORD_SIZE;
  const noncePrefix = crypto.getRandomValues(new Uint8Array(7));
  const metadata: EncryptedMetadata = {
    name: options.metadata?.name ?? "file",
    type: options.metadata?.type ?? "application/octet-stream",
    size: blob.size,
    ...(options.metadata?.lastModified === undefined
      ? {}
      : { lastModified: options.metadata.lastModified }),
  };
  const metadataPlain = encodeMetadata(metadata);
  const header = new Uint8Array(HEADER_BYTES);
  header.set(MAGIC, 0);
  const view = new DataView(header.buffer);
  view.setUint32(4, recordSize);
  header.set(noncePrefix, 8);
  view.setUint32(16, metadataPlain.byteLength + TAG_BYTES);
  const seal = async (plain: Uint8Array, counter: number, flag: number): Promise<ArrayBuffer> =>
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: iv(noncePrefix, counter, flag), additionalData: header },
      key,
      plain as BufferSource,
    );

  let assembled = new Blob([header, await seal(metadataPlain, 0, FLAG_METADATA)]);
  let parts: ArrayBuffer[] = [];
  const records = recordCount(blob.size, recordSize);
  const recordsPerRead = Math.max(1, Math.floor((1 << 20) / recordSize));
  for (let first = 1; first <= records; first += recordsPerRead) {
    if (options.signal?.aborted) throw options.signal.reason;
    const start = (first - 1) * recordSize;
    const slice = new Uint8Array(
      await blob.slice(start, start + recordsPerRead * recordSize).arrayBuffer(),
    );
    for (let index = 0; index < recordsPerRead && first + index <= records; index++) {
      const counter = first + index;
      const plain = slice.subarray(index * recordSize, (index + 1) * recordSize);
      parts.push(await seal(plain, counter, counter === records ? FLAG_LAST : FLAG_DATA));
    }
    // Folding small parts into a blob keeps the JavaScript heap small for big files.
    if (parts.length >= 64) {
      assembled = new Blob([assembled, ...parts]);
      parts = [];
    }
    options.onProgress?.(Math.min(blob.size, start + slice.byteLength), blob.size);
  }
  return new Blob([assembled, ...parts], { type: "application/octet-stream" });
}

/** A parsed SBE1 header. */
export interface ParsedHeader {
  recordSize: number;
  noncePrefix: Uint8Array;
  metadataLength: number;
  header: Uint8Array<ArrayBuffer>;
}

/** Reads the 20-byte header; throws {@linkcode DecryptionError} when it is not SBE1. */
export function parseHeader(bytes: Uint8Array): ParsedHeader {
  if (bytes.byteLength < HEADER_BYTES || MAGIC.some((byte, index) => bytes[index] !== byte)) {
    throw new DecryptionError("This is not an encrypted Switchboard file");
  }
  const header = bytes.slice(0, HEADER_BYTES);
  const view = new DataView(header.buffer);
  const recordSize = view.getUint32(4);
  const metadataLength = view.getUint32(16);
  if (
    recordSize < 1024 || recordSize > 16 << 20 || metadataLength < TAG_BYTES ||
    HEADER_BYTES + metadataLength > MAX_HEADER_AND_METADATA_BYTES
  ) {
    throw new DecryptionError("The encrypted header is malformed");
  }
  return { recordSize, noncePrefix: header.slice(8, 15), metadataLength, header };
}

async function open(
  parsed: ParsedHeader,
  key: CryptoKey,
  sealed: Uint8Array,
  counter: number,
  flag: number,
): Promise<Uint8Array> {
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: iv(parsed.noncePrefix, counter, flag),
          additionalData: parsed.header,
        },
        key,
        sealed as BufferSource,
      ),
    );
  } catch (error) {
    throw new DecryptionError(
      counter === 0
        ? "The key in this link does not match the file"
        : `The file was changed or cut short (record ${counter} does not verify)`,
      { cause: error },
    );
  }
}

function parseMetadata(plain: Uint8Array): EncryptedMetadata {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(plain));
  } catch (error) {
    throw new DecryptionError("The encrypted metadata is not JSON", { cause: error });
  }
  const metadata = value as Partial<EncryptedMetadata>;
  if (
    typeof metadata?.name !== "string" || typeof metadata.type !== "string" ||
    typeof metadata.size !== "number" || !Number.isSafeInteger(metadata.size) || metadata.size < 0
  ) {
    throw new DecryptionError("The encrypted metadata is incomplete");
  }
  return {
    name: metadata.name,
    type: metadata.type,
    size: metadata.size,
    ...(typeof metadata.lastModified === "number" ? { lastModified: metadata.lastModified } : {}),
  };
}

/**
 * Decrypts the metadata from the start of an SBE1 file (at least header and
 * metadata record, e.g. `encryptionHeader` of `GET /api/files/:id`).
 */
export async function decryptMetadata(
  start: Uint8Array,
  key: CryptoKey,
): Promise<EncryptedMetadata> {
  const parsed = parseHeader(start);
  const end = HEADER_BYTES + parsed.metadataLength;
  if (start.byteLength < end) throw new DecryptionError("The encrypted header is cut short");
  return parseMetadata(
    await open(parsed, key, start.subarray(HEADER_BYTES, end), 0, FLAG_METADATA),
  );
}

/** Options of {@linkcode createDecryptStream}. */
export interface DecryptStreamOptions {
  /** Called once the metadata record is decrypted, before any file bytes come out. */
  onMetadata?: (metadata: EncryptedMetadata) => void;
}

/**
 * A `TransformStream` from SBE1 ciphertext to the original bytes, one record at a
 * time. It errors with {@linkcode DecryptionError} when any record fails its tag,
 * records are reordered, the file is cut short (the last record must carry the
 * "last" flag) or the length differs from the sealed metadata.
 *
 * @example
 * ```ts
 * const key = await generateKey();
 * const sealed = await encryptBlob(new Blob(["hello"]), key);
 * const plain = sealed.stream().pipeThrough(createDecryptStream(key));
 * await new Response(plain).text(); // "hello"
 * ```
 */
export function createDecryptStream(
  key: CryptoKey,
  options: DecryptStreamOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let parsed: ParsedHeader | null = null;
  let metadata: EncryptedMetadata | null = null;
  let counter = 1;
  let produced = 0;

  const take = (count: number): Uint8Array => {
    const result = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const first = pending[0]!;
      const used = Math.min(first.byteLength, count - filled);
      result.set(first.subarray(0, used), filled);
      filled += used;
      if (used === first.byteLength) pending.shift();
      else pending[0] = first.subarray(used);
    }
    pendingBytes -= count;
    return result;
  };

  const emit = (
    plain: Uint8Array,
    controller: TransformStreamDefaultController<Uint8Array>,
  ): void => {
    produced += plain.byteLength;
    if (produced > metadata!.size) throw new DecryptionError("The file is longer than sealed");
    if (plain.byteLength > 0) controller.enqueue(plain);
  };

  return new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      if (!parsed) {
        if (pendingBytes < HEADER_BYTES) return;
        parsed = parseHeader(take(HEADER_BYTES));
      }
      if (!metadata) {
        if (pendingBytes < parsed.metadataLength) return;
        metadata = parseMetadata(
          await open(parsed, key, take(parsed.metadataLength), 0, FLAG_METADATA),
        );
        options.onMetadata?.(metadata);
      }
      const sealedRecord = parsed.recordSize + TAG_BYTES;
      // A full record is decrypted only once more bytes follow it: the last one is different.
      while (pendingBytes > sealedRecord) {
        emit(await open(parsed, key, take(sealedRecord), counter++, FLAG_DATA), controller);
      }
    },
    async flush(controller) {
      if (!parsed || !metadata) throw new DecryptionError("The file ends inside its header");
      if (pendingBytes < TAG_BYTES) throw new DecryptionError("The file was cut short");
      emit(await open(parsed, key, take(pendingBytes), counter++, FLAG_LAST), controller);
      if (produced !== metadata.size) {
        throw new DecryptionError(`The file has ${produced} bytes, ${metadata.size} were sealed`);
      }
      pending = [];
    },
  });
}
