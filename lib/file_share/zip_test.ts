import assert from "node:assert/strict";
import { unzipSync } from "fflate";
import { uniqueNames, zipFiles } from "./zip.ts";

function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  crypto.getRandomValues(bytes);
  return bytes;
}

Deno.test("uniqueNames numbers repeated names before the extension, case-insensitively", () => {
  assert.deepEqual(uniqueNames(["a.txt", "A.txt", "a.txt", "b", "b", ".env"]), [
    "a.txt",
    "A (2).txt",
    "a (3).txt",
    "b",
    "b (2)",
    ".env",
  ]);
});

Deno.test("zipFiles makes one zip whose entries are the files, byte for byte, even with equal names", async () => {
  const files = [randomBytes(60_000), new Uint8Array(), randomBytes(5)];
  const zip = await zipFiles([
    { name: "one.bin", blob: new Blob([files[0]!]) },
    { name: "empty ✓.txt", blob: new File([files[1]!], "x") },
    { name: "one.bin", blob: new Blob([files[2]!]) },
  ]);
  assert.equal(zip.type, "application/zip");
  const entries = unzipSync(new Uint8Array(await zip.arrayBuffer()));
  assert.deepEqual(Object.keys(entries), ["one.bin", "empty ✓.txt", "one (2).bin"]);
  assert.deepEqual(entries["one.bin"], files[0]);
  assert.deepEqual(entries["empty ✓.txt"], files[1]);
  assert.deepEqual(entries["one (2).bin"], files[2]);
});

Deno.test("zipFiles streams into writeStream when given, and falls back to memory when it fails", async () => {
  const bytes = randomBytes(1000);
  let streamed = 0;
  const onDisk = await zipFiles([{ name: "a", blob: new Blob([bytes]) }], {
    writeStream: async (stream, label) => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of stream) {
        streamed += chunk.byteLength;
        chunks.push(chunk);
      }
      return new File(chunks as Uint8Array<ArrayBuffer>[], label);
    },
  });
  assert.equal(onDisk.size, streamed);
  assert.deepEqual(unzipSync(new Uint8Array(await onDisk.arrayBuffer())).a, bytes);
  const inMemory = await zipFiles([{ name: "a", blob: new Blob([bytes]) }], {
    writeStream: () => Promise.reject(new DOMException("full", "QuotaExceededError")),
  });
  assert.deepEqual(unzipSync(new Uint8Array(await inMemory.arrayBuffer())).a, bytes);
});
