import assert from "node:assert/strict";
import { indexOfBytes, multipartBoundary, readMultipartFile } from "./multipart.ts";
import { MultipartError } from "./errors.ts";

const encoder = new TextEncoder();

/** A stream that hands `bytes` over in pieces of `pieceSize` (to cross boundaries at odd places). */
function streamOf(bytes: Uint8Array, pieceSize: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + pieceSize));
      offset += pieceSize;
    },
  });
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part.slice());
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

async function formDataBody(form: FormData): Promise<{ bytes: Uint8Array; boundary: string }> {
  const request = new Request("http://x/", { method: "POST", body: form });
  const boundary = multipartBoundary(request.headers.get("content-type"))!;
  return { bytes: new Uint8Array(await request.arrayBuffer()), boundary };
}

Deno.test("multipartBoundary() reads quoted and plain boundaries and refuses other types", () => {
  assert.equal(multipartBoundary("multipart/form-data; boundary=abc"), "abc");
  assert.equal(multipartBoundary('multipart/form-data; boundary="a b:c"'), "a b:c");
  assert.equal(multipartBoundary("application/octet-stream"), null);
  assert.equal(multipartBoundary("multipart/form-data"), null);
});

Deno.test("indexOfBytes() finds a sequence, also at the very end", () => {
  const haystack = encoder.encode("xx\r\n--b\r\n--bound");
  assert.equal(indexOfBytes(haystack, encoder.encode("\r\n--bound")), 7);
  assert.equal(indexOfBytes(haystack, encoder.encode("nope")), -1);
});

Deno.test("readMultipartFile() streams the file part byte-exact whatever the piece size", async () => {
  const content = new Uint8Array(200_000);
  for (let offset = 0; offset < content.length; offset += 65536) {
    crypto.getRandomValues(content.subarray(offset, offset + 65536));
  }
  // Plant bytes that look like the start of a delimiter inside the file.
  content.set(encoder.encode("\r\n--"), 1000);
  const form = new FormData();
  form.append("note", "a field before the file");
  form.append("file", new File([content], "data.bin", { type: "application/x-test" }));
  form.append("after", "a field after the file");
  const { bytes, boundary } = await formDataBody(form);
  for (const pieceSize of [1, 7, 1000, 65536, bytes.length]) {
    const file = await readMultipartFile(streamOf(bytes, pieceSize), boundary);
    assert.equal(file.filename, "data.bin");
    assert.equal(file.contentType, "application/x-test");
    assert.deepEqual(await collect(file.content), content);
  }
});

Deno.test("readMultipartFile() decodes escaped quotes and line breaks in the file name", async () => {
  const form = new FormData();
  form.append("file", new File(["x"], 'a"\r\nSet-Cookie: x'));
  const { bytes, boundary } = await formDataBody(form);
  const file = await readMultipartFile(streamOf(bytes, 13), boundary);
  assert.equal(file.filename, 'a"\r\nSet-Cookie: x');
  assert.deepEqual(await collect(file.content), encoder.encode("x"));
});

Deno.test("readMultipartFile() prefers filename* (RFC 5987)", async () => {
  const body = encoder.encode(
    '--B\r\nContent-Disposition: form-data; name="f"; filename="fallback.txt"; ' +
      "filename*=UTF-8''%F0%9F%93%A6%20box.txt\r\n\r\nhello\r\n--B--\r\n",
  );
  const file = await readMultipartFile(streamOf(body, 5), "B");
  assert.equal(file.filename, "📦 box.txt");
  assert.deepEqual(await collect(file.content), encoder.encode("hello"));
});

Deno.test("readMultipartFile() keeps an empty file empty", async () => {
  const form = new FormData();
  form.append("file", new File([], "empty.txt"));
  const { bytes, boundary } = await formDataBody(form);
  const file = await readMultipartFile(streamOf(bytes, 3), boundary);
  assert.equal((await collect(file.content)).length, 0);
});

Deno.test("readMultipartFile() fails on a body without a file part", async () => {
  const form = new FormData();
  form.append("field", "value");
  const { bytes, boundary } = await formDataBody(form);
  await assert.rejects(readMultipartFile(streamOf(bytes, 10), boundary), MultipartError);
});

Deno.test("readMultipartFile() fails when the body ends inside the file", async () => {
  const body = encoder.encode(
    '--B\r\nContent-Disposition: form-data; name="f"; filename="x.bin"\r\n\r\n' + "a".repeat(5000),
  );
  const file = await readMultipartFile(streamOf(body, 100), "B");
  await assert.rejects(collect(file.content), MultipartError);
});

Deno.test("readMultipartFile() refuses endless headers", async () => {
  const body = encoder.encode(
    '--B\r\nContent-Disposition: form-data; name="f"; filename="x.bin"\r\nX: ' +
      "y".repeat(100_000),
  );
  await assert.rejects(
    readMultipartFile(streamOf(body, 1000), "B", { maxHeaderBytes: 16 * 1024 }),
    MultipartError,
  );
});
