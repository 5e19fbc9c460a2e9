/**
 * A streaming reader for `multipart/form-data` uploads: it finds the first part
 * that carries a file and hands its bytes over as they arrive, so a large upload
 * never sits in memory. Other parts before it (small form fields) are skipped.
 */
import { ByteReader } from "./_byte_reader.ts";
import { MultipartError } from "./errors.ts";

/** The file part of a multipart body. */
export interface MultipartFile {
  /** The file name as the client sent it (not yet cleaned). */
  filename: string;
  /** The part's `Content-Type`, if any. */
  contentType: string | undefined;
  /**
   * The file's bytes, as they stream in. Ends after the part's closing boundary
   * was seen and the rest of the body was read; throws {@linkcode MultipartError}
   * when the body ends early.
   */
  content: AsyncIterable<Uint8Array>;
}

/** Options of {@linkcode readMultipartFile}. */
export interface MultipartOptions {
  /** Most bytes of preamble, part headers and skipped fields before the file. Default 64 KiB. */
  maxHeaderBytes?: number;
  /** Most bytes accepted after the file part (other parts, epilogue). Default 64 KiB. */
  maxTrailingBytes?: number;
  /** Read with BYOB when the body is a byte stream (see `ByteReader`). Default true. */
  byob?: boolean;
  /** A read that gets no bytes for this long fails with 408 `body_timeout`. Default none. */
  idleTimeoutMs?: number | undefined;
}

const CRLF = new Uint8Array([13, 10]);
const HEADER_END = new Uint8Array([13, 10, 13, 10]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The boundary of a `multipart/form-data` content type, or null when it is not one. */
export function multipartBoundary(contentType: string | null | undefined): string | null {
  if (!contentType || !/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return null;
  const match = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return match ? (match[1] ?? match[2] ?? null) : null;
}

/** Index of `needle` in `haystack` from `from`, or -1. */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0]!;
  const lastStart = haystack.length - needle.length;
  for (let index = haystack.indexOf(first, from); index !== -1 && index <= lastStart;) {
    let matched = true;
    for (let offset = 1; offset < needle.length; offset++) {
      if (haystack[index + offset] !== needle[offset]) {
        matched = false;
        break;
      }
    }
    if (matched) return index;
    index = haystack.indexOf(first, index + 1);
  }
  return -1;
}

/**
 * A window over a byte stream in one reusable buffer: reads land in it (BYOB for
 * byte streams), consumed bytes are dropped by moving the window, and the buffer
 * grows only when one unconsumed stretch needs more room (headers).
 */
class Scanner {
  #reader: ByteReader;
  #memory: ArrayBuffer;
  #start = 0;
  #end = 0;
  #ended = false;

  constructor(
    stream: ReadableStream<Uint8Array>,
    initial: Uint8Array,
    options: { capacity: number; byob: boolean; idleTimeoutMs?: number | undefined },
  ) {
    const capacity = options.capacity;
    this.#reader = new ByteReader(stream, {
      byob: options.byob,
      idleTimeoutMs: options.idleTimeoutMs,
    });
    this.#memory = new ArrayBuffer(Math.max(capacity, initial.byteLength * 2));
    new Uint8Array(this.#memory).set(initial);
    this.#end = initial.byteLength;
  }

  /** The unconsumed bytes; valid until the next {@linkcode more}. */
  get buffer(): Uint8Array {
    return new Uint8Array(this.#memory, this.#start, this.#end - this.#start);
  }

  /** Reads more of the stream behind the unconsumed bytes; false at the end. */
  async more(): Promise<boolean> {
    if (this.#ended) return false;
    const capacity = this.#memory.byteLength;
    if (this.#end > capacity * 0.75) {
      const kept = this.#end - this.#start;
      if (kept > capacity / 2) {
        const grown = new ArrayBuffer(capacity * 2);
        new Uint8Array(grown).set(this.buffer);
        this.#memory = grown;
      } else {
        new Uint8Array(this.#memory).copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = kept;
    }
    const { value, done } = await this.#reader.readInto(
      new Uint8Array(this.#memory, this.#end, this.#memory.byteLength - this.#end),
    );
    this.#memory = value.buffer;
    if (done) {
      this.#ended = true;
      return false;
    }
    this.#end += value.byteLength;
    return true;
  }

  consume(count: number): void {
    this.#start += count;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  cancel(): void {
    this.#reader.cancel();
  }
}

/** Splits `name=value` parameters of a header (quoted values kept verbatim, as browsers send them). */
function headerParameters(value: string): Map<string, string> {
  const parameters = new Map<string, string>();
  const pattern = /;\s*([^\s=;]+)\s*=\s*(?:"([^"]*)"|([^;]*))/g;
  for (const match of value.matchAll(pattern)) {
    parameters.set(match[1]!.toLowerCase(), match[2] ?? match[3]!.trim());
  }
  return parameters;
}

/**
 * The file name of a part: `filename*` (RFC 5987) when present, else `filename`,
 * where browsers escape `"`, CR and LF as `%22`, `%0D`, `%0A` (WHATWG form encoding).
 */
function partFilename(disposition: string): string | null {
  const parameters = headerParameters(disposition);
  const extended = parameters.get("filename*");
  if (extended) {
    const match = /^([\w-]+)'[^']*'(.*)$/.exec(extended);
    if (match && match[1]!.toLowerCase() === "utf-8") {
      try {
        return decodeURIComponent(match[2]!);
      } catch { /* fall back to filename */ }
    }
  }
  const plain = parameters.get("filename");
  if (plain === undefined) return null;
  return plain.replace(/%(22|0D|0A)/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Reads a `multipart/form-data` body up to its first file part and returns that
 * part's name, type and streaming content.
 *
 * @example
 * ```ts
 * const form = new FormData();
 * form.append("file", new File(["hello"], "hello.txt", { type: "text/plain" }));
 * const request = new Request("http://localhost/api/upload", { method: "POST", body: form });
 * const boundary = multipartBoundary(request.headers.get("content-type"));
 * if (boundary) {
 *   const file = await readMultipartFile(request.body!, boundary);
 *   file.filename; // "hello.txt"
 *   let size = 0;
 *   for await (const bytes of file.content) size += bytes.length; // 5, streamed as it arrives
 * }
 * ```
 */
export async function readMultipartFile(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  options: MultipartOptions = {},
): Promise<MultipartFile> {
  const maxHeaderBytes = options.maxHeaderBytes ?? 64 * 1024;
  const maxTrailingBytes = options.maxTrailingBytes ?? 64 * 1024;
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  // A CRLF in front lets the first boundary match the same delimiter as the others.
  const scanner = new Scanner(body, CRLF, {
    capacity: 256 * 1024,
    byob: options.byob ?? true,
    idleTimeoutMs: options.idleTimeoutMs,
  });
  let headerBytes = 0;

  const fail = (reason: string): never => {
    scanner.cancel();
    throw new MultipartError(reason);
  };

  /** Discards bytes up to and including the next delimiter. */
  async function skipToDelimiter(): Promise<void> {
    while (true) {
      const at = indexOfBytes(scanner.buffer, delimiter);
      if (at !== -1) {
        headerBytes += at;
        scanner.consume(at + delimiter.length);
        break;
      }
      const keep = delimiter.length - 1;
      const drop = Math.max(0, scanner.buffer.length - keep);
      headerBytes += drop;
      scanner.consume(drop);
      if (headerBytes > maxHeaderBytes) fail("too many bytes before the file part");
      if (!await scanner.more()) fail("no boundary found");
    }
    if (headerBytes > maxHeaderBytes) fail("too many bytes before the file part");
  }

  /** After a delimiter: true when it closed the body (`--`), else the line is skipped. */
  async function afterDelimiter(): Promise<boolean> {
    while (scanner.buffer.length < 2) {
      if (!await scanner.more()) fail("body ended after a boundary");
    }
    if (scanner.buffer[0] === 45 && scanner.buffer[1] === 45) return true;
    return false;
  }

  /** Reads part headers: from the CRLF that ends the boundary line to the empty line. */
  async function readHeaders(): Promise<Map<string, string>> {
    // Transport padding (spaces, tabs) may follow the boundary before its CRLF.
    while (true) {
      const lineEnd = indexOfBytes(scanner.buffer, CRLF);
      if (lineEnd !== -1) {
        if (!/^[ \t]*$/.test(decoder.decode(scanner.buffer.subarray(0, lineEnd)))) {
          fail("malformed boundary line");
        }
        scanner.consume(lineEnd);
        break;
      }
      if (scanner.buffer.length > 256) fail("malformed boundary line");
      if (!await scanner.more()) fail("body ended in a boundary line");
    }
    while (true) {
      const end = indexOfBytes(scanner.buffer, HEADER_END);
      if (end !== -1) {
        const text = decoder.decode(scanner.buffer.subarray(2, Math.max(2, end)));
        headerBytes += end + HEADER_END.length;
        scanner.consume(end + HEADER_END.length);
        const headers = new Map<string, string>();
        for (const line of end > 0 ? text.split("\r\n") : []) {
          const colon = line.indexOf(":");
          if (colon <= 0) fail("malformed part header");
          headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        }
        return headers;
      }
      if (headerBytes + scanner.buffer.length > maxHeaderBytes) fail("part headers are too long");
      if (!await scanner.more()) fail("body ended in part headers");
    }
  }

  await skipToDelimiter();
  headerBytes = 0;
  while (true) {
    if (await afterDelimiter()) fail("no file part in the body");
    const headers = await readHeaders();
    const disposition = headers.get("content-disposition") ?? "";
    const filename = /^\s*form-data\b/i.test(disposition) ? partFilename(disposition) : null;
    if (filename === null) {
      await skipToDelimiter();
      continue;
    }
    return { filename, contentType: headers.get("content-type"), content: fileContent() };
  }

  async function* fileContent(): AsyncGenerator<Uint8Array> {
    const keep = delimiter.length - 1;
    try {
      while (true) {
        const at = indexOfBytes(scanner.buffer, delimiter);
        if (at !== -1) {
          if (at > 0) yield scanner.buffer.subarray(0, at);
          scanner.consume(at + delimiter.length);
          break;
        }
        const safe = scanner.buffer.length - keep;
        if (safe > 0) {
          yield scanner.buffer.subarray(0, safe);
          scanner.consume(safe);
        }
        if (!await scanner.more()) fail("body ended before the closing boundary");
      }
      // The rest (more parts, the close delimiter, an epilogue) is read and dropped.
      let trailing = scanner.buffer.length;
      scanner.consume(scanner.buffer.length);
      while (await scanner.more()) {
        trailing += scanner.buffer.length;
        scanner.consume(scanner.buffer.length);
        if (trailing > maxTrailingBytes) fail("too many bytes after the file part");
      }
    } finally {
      scanner.cancel();
    }
  }
}
