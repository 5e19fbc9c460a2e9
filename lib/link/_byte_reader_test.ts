import assert from "node:assert/strict";
import { ByteReader } from "./_byte_reader.ts";

async function readAll(reader: ByteReader, size: number): Promise<Uint8Array> {
  let memory = new ArrayBuffer(size);
  let filled = 0;
  while (filled < size) {
    const { value, done } = await reader.readInto(
      new Uint8Array(memory, filled, Math.min(7, size - filled)),
    );
    memory = value.buffer;
    if (done) break;
    filled += value.byteLength;
  }
  const end = await reader.readInto(new Uint8Array(memory, 0, 1));
  assert.equal(end.done, true);
  assert.equal(end.value.byteLength, 0);
  // The memory is still usable after the last read.
  return new Uint8Array(end.value.buffer, 0, filled).slice();
}

const bytes = Uint8Array.from({ length: 100 }, (_, index) => index);

Deno.test("ByteReader reads a byte stream into the caller's memory", async () => {
  const stream = new ReadableStream({
    type: "bytes",
    start(controller) {
      controller.enqueue(bytes.slice(0, 40));
      controller.enqueue(bytes.slice(40));
      controller.close();
    },
  });
  assert.deepEqual(await readAll(new ByteReader(stream), 100), bytes);
});

Deno.test("ByteReader copies from a stream that has no BYOB mode", async () => {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.slice(0, 33));
      controller.enqueue(new Uint8Array());
      controller.enqueue(bytes.slice(33));
      controller.close();
    },
  });
  assert.deepEqual(await readAll(new ByteReader(stream), 100), bytes);
});
