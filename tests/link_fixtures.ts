/**
 * Helpers for the link-mode tests: random bodies generated as they stream (with
 * their SHA-256), hashing a response body as it streams, and reading what the
 * server left in its KV file.
 */
import { createHash } from "node:crypto";
import { openKv } from "../lib/kv/mod.ts";

/** A streaming body of random bytes, hashed as it is pulled; keeps copies of chosen windows. */
export interface RandomBody {
  stream: ReadableStream<Uint8Array>;
  /** Bytes handed to the consumer so far. */
  pulled(): number;
  /** SHA-256 (hex) of everything pulled; call after the stream ended. */
  sha256(): string;
  /** The bytes at `[start, start + length)` of a window asked for up front. */
  window(start: number): Uint8Array;
}

/**
 * Random bytes in pieces of `pieceSize`, never all in memory.
 * `windows` lists `[start, length]` ranges to keep, e.g. to check Range answers.
 */
export function randomBody(
  totalBytes: number,
  options: {
    pieceSize?: number;
    windows?: Array<[number, number]>;
    prefix?: Uint8Array;
    suffix?: Uint8Array;
  } = {},
): RandomBody {
  const pieceSize = options.pieceSize ?? 256 * 1024;
  const hash = createHash("sha256");
  const kept = new Map<number, Uint8Array>();
  for (const [start, length] of options.windows ?? []) kept.set(start, new Uint8Array(length));
  let produced = 0;
  let pulled = 0;
  let prefixSent = !options.prefix;
  let suffixSent = !options.suffix;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!prefixSent) {
        prefixSent = true;
        pulled += options.prefix!.byteLength;
        return controller.enqueue(options.prefix!);
      }
      if (produced >= totalBytes) {
        if (!suffixSent) {
          suffixSent = true;
          pulled += options.suffix!.byteLength;
          return controller.enqueue(options.suffix!);
        }
        return controller.close();
      }
      const piece = new Uint8Array(Math.min(pieceSize, totalBytes - produced));
      for (let offset = 0; offset < piece.length; offset += 65536) {
        crypto.getRandomValues(piece.subarray(offset, offset + 65536));
      }
      hash.update(piece);
      for (const [start, copy] of kept) {
        const from = Math.max(start, produced);
        const to = Math.min(start + copy.length, produced + piece.length);
        if (from < to) copy.set(piece.subarray(from - produced, to - produced), from - start);
      }
      produced += piece.length;
      pulled += piece.length;
      controller.enqueue(piece);
    },
  });
  let digest: string | undefined;
  return {
    stream,
    pulled: () => pulled,
    sha256: () => digest ??= hash.digest("hex"),
    window: (start) => kept.get(start)!,
  };
}

/** SHA-256 (hex) and length of a response body, read as it streams. */
export async function hashBody(
  body: ReadableStream<Uint8Array> | null,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const piece of body ?? new Blob([]).stream()) {
    hash.update(piece);
    size += piece.byteLength;
  }
  return { sha256: hash.digest("hex"), size };
}

/** SHA-256 (hex) of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Counts of link-mode keys in a KV file, by kind (`file`, `chunk`, `upload`, …). */
async function linkKeyCounts(kvPath: string): Promise<Record<string, number>> {
  const kv = await openKv(kvPath);
  try {
    const counts: Record<string, number> = {};
    for await (const entry of kv.list({ prefix: ["link"] })) {
      const kind = String(entry.key[1]);
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
    return counts;
  } finally {
    kv.close();
  }
}

/** The chunks, uploads in progress and file records in a KV file (0 each when nothing is stored). */
export async function storedCounts(
  kvPath: string,
): Promise<{ file: number; chunk: number; upload: number }> {
  const counts = await linkKeyCounts(kvPath);
  return { file: counts.file ?? 0, chunk: counts.chunk ?? 0, upload: counts.upload ?? 0 };
}

/** A multipart/form-data body around a streamed file, with its boundary. */
export function multipartEnvelope(filename: string, type = "application/octet-stream"): {
  boundary: string;
  prefix: Uint8Array;
  suffix: Uint8Array;
} {
  const boundary = `----switchboard${crypto.randomUUID().replaceAll("-", "")}`;
  const encoder = new TextEncoder();
  return {
    boundary,
    prefix: encoder.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
        `Content-Type: ${type}\r\n\r\n`,
    ),
    suffix: encoder.encode(`\r\n--${boundary}--\r\n`),
  };
}

/**
 * POSTs a streamed body with a `Content-Length` over a plain socket and returns
 * the status and parsed JSON answer. Deno's fetch sends every stream chunked
 * (it ignores a Content-Length header) and stalls whenever the server applies
 * backpressure; browsers and curl send a length, so this is what they look like.
 */
export async function postWithLength(
  url: string,
  options: { headers?: Record<string, string>; body: ReadableStream<Uint8Array>; length: number },
  // deno-lint-ignore no-explicit-any -- JSON from the server
): Promise<{ status: number; json: any }> {
  const target = new URL(url);
  const conn = await Deno.connect({ hostname: target.hostname, port: Number(target.port) });
  const write = async (bytes: Uint8Array) => {
    for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
  };
  const headers = Object.entries(options.headers ?? {})
    .map(([name, value]) => `${name}: ${value}\r\n`).join("");
  await write(
    new TextEncoder().encode(
      `POST ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n${headers}` +
        `Content-Length: ${options.length}\r\nConnection: close\r\n\r\n`,
    ),
  );
  try {
    for await (const piece of options.body) await write(piece);
  } catch { /* the server may answer (413) and close before the body is sent */ }
  const text = await new Response(conn.readable).text();
  const split = text.indexOf("\r\n\r\n");
  const head = text.slice(0, split);
  let payload = text.slice(split + 4);
  if (/^transfer-encoding:\s*chunked/im.test(head)) {
    let decoded = "";
    while (payload.length) {
      const lineEnd = payload.indexOf("\r\n");
      const size = parseInt(payload.slice(0, lineEnd), 16);
      if (!size) break;
      decoded += payload.slice(lineEnd + 2, lineEnd + 2 + size);
      payload = payload.slice(lineEnd + 2 + size + 2);
    }
    payload = decoded;
  }
  return { status: Number(head.split(" ")[1]), json: JSON.parse(payload) };
}
