import assert from "node:assert/strict";
import { fakeChannelPair } from "../_fake_channel.ts";
import { FileReceiver } from "../receiver.ts";
import { FileSender } from "../sender.ts";
import { sha256OfBlob } from "../sha256.ts";
import { FakeDirectory } from "./_fake_directory.ts";
import {
  checkSpace,
  estimateSpace,
  openReceiveStore,
  ReceiveStore,
  STALE_AFTER_MS,
} from "./mod.ts";

function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  }
  return bytes;
}

Deno.test("an OPFS sink writes in 1 MiB batches into 2 MiB segment files, each committed when full, and gives back the file from disk", async () => {
  const directory = new FakeDirectory();
  const store = new ReceiveStore(directory);
  const committed: string[][] = [];
  const sink = await store.open({ index: 0 }, { onCommit: (names) => committed.push(names) });
  const bytes = randomBytes(2.5 * 1024 * 1024);
  for (let offset = 0; offset < bytes.byteLength; offset += 64 * 1024) {
    await sink.write(bytes.subarray(offset, offset + 64 * 1024));
  }
  const [first] = [...directory.files.values()];
  assert.deepEqual(first!.writes, [1024 * 1024, 1024 * 1024]);
  assert.equal(first!.bytes.byteLength, 2 * 1024 * 1024, "the full segment is committed");
  assert.equal(directory.files.size, 1, "nothing past the last full batch");
  assert.deepEqual(committed, [[first!.name]]);
  const saved = await sink.close();
  const second = [...directory.files.values()][1];
  assert.equal(saved.kind, "blob");
  const file = saved.kind === "blob" ? saved.blob : new Blob();
  assert.ok(file instanceof File, "a File of the segments' Files");
  assert.deepEqual(new Uint8Array(await file.arrayBuffer()), bytes);
  assert.deepEqual(second!.writes, [512 * 1024]);
  assert.deepEqual(committed.at(-1), [first!.name, second!.name]);
});

Deno.test("after a reload a new store reopens the committed segments and the file goes on after them; abort deletes them all", async () => {
  const directory = new FakeDirectory();
  const before = new ReceiveStore(directory);
  let names: string[] = [];
  const sink = await before.open({ index: 3 }, { onCommit: (committed) => names = committed });
  const bytes = randomBytes(5 * 1024 * 1024);
  await sink.write(bytes.subarray(0, 4.5 * 1024 * 1024));
  // The page reloads: the open segment's bytes were never committed.
  assert.equal(names.length, 2);
  const after = new ReceiveStore(directory);
  const stored = await after.reopen(names);
  assert.ok(stored);
  assert.equal(stored.reduce((sum, segment) => sum + segment.file.size, 0), 4 * 1024 * 1024);
  const resumed = await after.open({ index: 3 }, { stored });
  await resumed.write(bytes.subarray(4 * 1024 * 1024));
  const saved = await resumed.close();
  assert.ok(saved.kind === "blob");
  assert.deepEqual(new Uint8Array(await saved.blob.arrayBuffer()), bytes);
  assert.equal(await after.reopen(["no-such-segment"]), null);
  await after.removeAll();
  assert.deepEqual(
    [...directory.files.keys()],
    before.names.filter((name) => !names.includes(name)),
    "only the segment never committed (and never reopened) is left, for the sweep",
  );
});

Deno.test("an aborted OPFS sink deletes its file; other files stay", async () => {
  const directory = new FakeDirectory();
  const store = new ReceiveStore(directory);
  const kept = await store.open({ index: 0 });
  await kept.write(new Uint8Array([1, 2, 3]));
  await kept.close();
  const partial = await store.open({ index: 1 });
  await partial.write(randomBytes(1000));
  assert.equal(directory.files.size, 2);
  await partial.abort();
  assert.equal(directory.files.size, 1);
  assert.deepEqual(store.names, [...directory.files.keys()]);
  await store.removeAll();
  assert.equal(directory.files.size, 0, "the page leaving deletes the rest");
});

Deno.test("the sweep deletes files older than a day and unknown names, keeps younger ones", async () => {
  const directory = new FakeDirectory();
  const now = 1_800_000_000_000;
  const old = `${now - STALE_AFTER_MS - 1}-deadbeef-0`;
  const young = `${now - 60_000}-cafebabe-0`;
  for (const name of [old, young, "stray.bin"]) {
    await directory.getFileHandle(name, { create: true });
  }
  const store = new ReceiveStore(directory, { now: () => now });
  await (await store.open({ index: 0 })).close();
  assert.equal(await store.sweep(), 2);
  const left = [...directory.files.keys()].sort();
  assert.deepEqual(left, [young, ...store.names].sort());
});

Deno.test("a file damaged in flight is deleted from the OPFS folder; a good one is kept, byte-identical", async () => {
  const [a, b] = fakeChannelPair();
  a.tamper = (bytes, index) => {
    if (index === 2) bytes[7] = bytes[7]! ^ 0xff;
  };
  const directory = new FakeDirectory();
  const store = new ReceiveStore(directory);
  const receiver = new FileReceiver(b, { openSink: (file) => store.open(file) });
  const good = new Blob([randomBytes(300_000)]);
  const sender = new FileSender(a, [
    { blob: new Blob([randomBytes(1024 * 1024)]), name: "damaged.bin" },
    { blob: good, name: "good.bin" },
  ]);
  const [sent, received] = await Promise.all([sender.run(), receiver.done]);
  assert.deepEqual(sent, { verified: [1], failed: [0] });
  assert.equal(received[0]!.ok, false);
  assert.equal(directory.files.size, 1, "only the good file is left");
  const saved = received[1]!;
  assert.ok(saved.ok && saved.saved.kind === "blob");
  assert.equal(await sha256OfBlob(saved.saved.blob), await sha256OfBlob(good));
});

Deno.test("a transfer canceled midway leaves no partial file behind", async () => {
  const [a, b] = fakeChannelPair();
  const directory = new FakeDirectory();
  const store = new ReceiveStore(directory);
  const receiver = new FileReceiver(b, {
    openSink: (file) => store.open(file),
  });
  const sender = new FileSender(a, [{ blob: new Blob([randomBytes(4 * 1024 * 1024)]), name: "x" }]);
  const sending = sender.run().catch((error) => error);
  let onDiskAtCancel = 0;
  // Cancel inside the delivery of a message past 1 MiB: a fixed point, whatever the timing.
  await new Promise<void>((resolve) => {
    let seen = 0;
    b.addEventListener("message", (event: Event) => {
      const data = (event as MessageEvent).data;
      if (typeof data !== "string") seen += (data as ArrayBuffer).byteLength;
      if (seen > 1024 * 1024 && seen - 65536 <= 1024 * 1024) {
        onDiskAtCancel = directory.files.size;
        receiver.cancel();
        resolve();
      }
    });
  });
  await assert.rejects(receiver.done);
  await sending;
  assert.equal(onDiskAtCancel, 1, "the partial file was on disk");
  // The abort runs once the sink finished opening: the folder empties (or the test times out).
  await directory.whenEmpty();
  assert.deepEqual(store.names, []);
});

Deno.test("checkSpace refuses what does not fit, with both sizes, and allows what does", () => {
  const refused = checkSpace(3 * 1024 * 1024, { quota: 1024 * 1024, usage: 0 });
  assert.equal(refused.fits, false);
  assert.equal(refused.availableBytes, 1024 * 1024);
  assert.match(refused.message ?? "", /need 3\.0 MB.*only 1\.0 MB/);
  const used = checkSpace(600, { quota: 1000, usage: 500 });
  assert.deepEqual(used, {
    fits: false,
    availableBytes: 500,
    message: used.message,
  });
  assert.deepEqual(checkSpace(500, { quota: 1000, usage: 500 }), {
    fits: true,
    availableBytes: 500,
    message: null,
  });
  assert.deepEqual(checkSpace(10 ** 12, null), { fits: true, availableBytes: null, message: null });
  assert.equal(checkSpace(1, { usage: 5 }).fits, true, "no quota given: nothing to refuse on");
});

Deno.test("estimateSpace reads the browser's estimate, and null where there is none", async () => {
  assert.deepEqual(
    await estimateSpace({ estimate: () => Promise.resolve({ quota: 10, usage: 4 }) }),
    { quota: 10, usage: 4 },
  );
  assert.equal(await estimateSpace({ estimate: () => Promise.reject(new Error("no")) }), null);
  assert.equal(await estimateSpace(undefined), null);
});

Deno.test("openReceiveStore answers null where the browser has no OPFS", async () => {
  assert.equal(await openReceiveStore(undefined), null);
  assert.equal(
    await openReceiveStore({
      getDirectory: () => Promise.reject(new DOMException("", "SecurityError")),
    }),
    null,
  );
});

Deno.test("an OPFS sink returns a promise only when a batch is written, and splits a chunk across batches", async () => {
  const directory = new FakeDirectory();
  const sink = await new ReceiveStore(directory).open({ index: 0 });
  const bytes = randomBytes(1024 * 1024 + 10);
  assert.equal(sink.write(bytes.subarray(0, 10)), undefined, "below a batch: no promise");
  const crossing = sink.write(bytes.subarray(10));
  assert.ok(crossing instanceof Promise, "a full batch is written");
  await crossing;
  const saved = await sink.close();
  assert.ok(saved.kind === "blob");
  assert.deepEqual(new Uint8Array(await saved.blob.arrayBuffer()), bytes);
  assert.deepEqual([...directory.files.values()][0]!.writes, [1024 * 1024, 10]);
});
