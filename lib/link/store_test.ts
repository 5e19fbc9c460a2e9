import assert from "node:assert/strict";
import { waitFor } from "../clock/testing.ts";
import { createHash } from "node:crypto";
import { KvLinkStore, type LinkStoreOptions } from "./store.ts";
import { roundTripCounter } from "../kv/testing.ts";
import {
  FileGoneError,
  FileNotFoundError,
  FileTooLargeError,
  UploadAbortedError,
  UploadInterruptedError,
  WrongDeleteTokenError,
} from "./errors.ts";

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
  }
  return bytes;
}

/** Yields `bytes` in pieces of `pieceSize`. */
async function* pieces(bytes: Uint8Array, pieceSize = 777): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += pieceSize) {
    yield bytes.subarray(offset, offset + pieceSize);
  }
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Every key under `["link", kind]`. */
async function keysOf(kv: Deno.Kv, kind: string): Promise<Deno.KvKey[]> {
  const keys: Deno.KvKey[] = [];
  for await (const entry of kv.list({ prefix: ["link", kind] })) keys.push(entry.key);
  return keys;
}

async function assertNothingStored(kv: Deno.Kv): Promise<void> {
  for (const kind of ["file", "chunk", "upload", "progress", "downloads"]) {
    assert.deepEqual(await keysOf(kv, kind), [], `no ${kind} keys`);
  }
}

/** A store on an in-memory KV with tiny chunks and a clock the test moves. */
async function setup(options: LinkStoreOptions = {}) {
  const kv = await Deno.openKv(":memory:");
  const clock = { now: 1_700_000_000_000 };
  const store = new KvLinkStore(kv, {
    now: () => clock.now,
    chunkSize: 1000,
    chunksPerCommit: 3,
    purgeGraceMs: 60_000,
    staleUploadMs: 30_000,
    ...options,
  });
  return { kv, clock, store, [Symbol.dispose]: () => kv.close() };
}

const base = { name: "data.bin", type: "application/octet-stream", ttlSeconds: 60 };

Deno.test("put() stores chunks and read() gives back the same bytes with their SHA-256", async () => {
  using env = await setup();
  const bytes = randomBytes(12_345);
  const { file } = await env.store.put(pieces(bytes), { ...base, maxBytes: 1 << 20 });
  assert.equal(file.size, bytes.length);
  assert.equal(file.chunkCount, 13);
  assert.equal(file.sha256, createHash("sha256").update(bytes).digest("hex"));
  assert.equal((await keysOf(env.kv, "chunk")).length, 13);
  const { file: found } = await env.store.get(file.id);
  assert.deepEqual(await readAll(env.store.read(found)), bytes);
});

Deno.test("put() reads a byte stream straight into its chunks, whatever the piece sizes", async () => {
  using env = await setup();
  const bytes = randomBytes(23_456);
  let offset = 0;
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        // A byte source answers a pending BYOB read after close (Streams spec).
        return controller.byobRequest?.respond(0);
      }
      const size = 1 + Math.floor(Math.random() * 3000);
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
  const { file } = await env.store.put(stream, { ...base, maxBytes: 1 << 20 });
  assert.equal(file.sha256, createHash("sha256").update(bytes).digest("hex"));
  assert.deepEqual(await readAll(env.store.read(file)), bytes);
});

Deno.test("put() of a byte stream past maxBytes cancels it and leaves nothing", async () => {
  using env = await setup();
  let cancelled = false;
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      controller.enqueue(randomBytes(4096));
    },
    cancel() {
      cancelled = true;
    },
  });
  await assert.rejects(env.store.put(stream, { ...base, maxBytes: 50_000 }), FileTooLargeError);
  assert.ok(cancelled);
  await assertNothingStored(env.kv);
});

Deno.test("read() returns exactly the requested range across chunk borders", async () => {
  using env = await setup();
  const bytes = randomBytes(5_500);
  const { file } = await env.store.put(pieces(bytes, 4096), { ...base, maxBytes: 1 << 20 });
  for (
    const [start, end] of [[0, 0], [999, 1000], [0, 5499], [1500, 4499], [5499, 5499], [3, 2998]]
  ) {
    const part = await readAll(env.store.read(file, { start: start!, end: end! }));
    assert.deepEqual(part, bytes.subarray(start!, end! + 1), `${start}-${end}`);
  }
});

Deno.test("put() stores an empty file", async () => {
  using env = await setup();
  const { file } = await env.store.put(pieces(new Uint8Array()), { ...base, maxBytes: 10 });
  assert.equal(file.size, 0);
  assert.equal(file.chunkCount, 0);
  assert.equal((await readAll(env.store.read(file))).length, 0);
});

Deno.test("a file is invisible while its upload runs", async () => {
  using env = await setup();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  async function* slow(): AsyncGenerator<Uint8Array> {
    yield randomBytes(5000);
    await gate;
    yield randomBytes(10);
  }
  const upload = env.store.put(slow(), { ...base, maxBytes: 1 << 20 });
  await waitFor(async () => (await keysOf(env.kv, "chunk")).length >= 3);
  assert.deepEqual(await keysOf(env.kv, "file"), []);
  assert.equal((await keysOf(env.kv, "upload")).length, 1);
  release();
  const { file } = await upload;
  assert.equal(file.size, 5010);
  assert.deepEqual(await keysOf(env.kv, "upload"), []);
});

Deno.test("put() past maxBytes fails with FileTooLargeError and leaves nothing", async () => {
  using env = await setup();
  await assert.rejects(
    env.store.put(pieces(randomBytes(10_000)), { ...base, maxBytes: 7_000 }),
    FileTooLargeError,
  );
  await assertNothingStored(env.kv);
});

Deno.test("put() of a body that fails half-way leaves nothing", async () => {
  using env = await setup();
  async function* broken(): AsyncGenerator<Uint8Array> {
    yield randomBytes(6000);
    throw new Error("connection reset");
  }
  await assert.rejects(env.store.put(broken(), { ...base, maxBytes: 1 << 20 }), UploadAbortedError);
  await assertNothingStored(env.kv);
});

Deno.test("get() says 404 for unknown and malformed ids", async () => {
  using env = await setup();
  await assert.rejects(env.store.get("AAAAAAAAAAAAAAAAAAAAAA"), FileNotFoundError);
  await assert.rejects(env.store.get("../../etc"), FileNotFoundError);
});

Deno.test("an expired file is 410 at once and its chunks are swept after the grace time", async () => {
  using env = await setup();
  const { file } = await env.store.put(pieces(randomBytes(4500)), {
    ...base,
    ttlSeconds: 10,
    maxBytes: 1 << 20,
  });
  env.clock.now += 10_000;
  await assert.rejects(env.store.get(file.id), (error) => {
    assert.ok(error instanceof FileGoneError);
    assert.equal(error.reason, "expired");
    return true;
  });
  assert.deepEqual(await env.store.sweep(), { files: 0, uploads: 0 }, "not before the grace time");
  env.clock.now += 60_000;
  assert.deepEqual(await env.store.sweep(), { files: 1, uploads: 0 });
  await assertNothingStored(env.kv);
  assert.deepEqual(await keysOf(env.kv, "purge"), []);
  await assert.rejects(env.store.get(file.id), FileGoneError, "a tombstone keeps saying 410");
});

Deno.test("claimDownload() lets exactly one of 20 concurrent downloads of a 1-download file through", async () => {
  using env = await setup();
  const { file } = await env.store.put(pieces(randomBytes(3000)), {
    ...base,
    maxDownloads: 1,
    maxBytes: 1 << 20,
  });
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, () => env.store.claimDownload(file.id)),
  );
  const won = results.filter((result) => result.status === "fulfilled");
  assert.equal(won.length, 1);
  for (const result of results) {
    if (result.status === "rejected") {
      assert.ok(result.reason instanceof FileGoneError);
      assert.equal(result.reason.reason, "consumed");
    }
  }
  // The last download may still be running: the bytes stay for the grace time, then go.
  assert.equal((await keysOf(env.kv, "chunk")).length, 3);
  env.clock.now += 60_000;
  assert.equal((await env.store.sweep()).files, 1);
  await assertNothingStored(env.kv);
});

Deno.test("claimDownload() counts down downloadsLeft", async () => {
  using env = await setup();
  const { file } = await env.store.put(pieces(randomBytes(10)), {
    ...base,
    maxDownloads: 3,
    maxBytes: 100,
  });
  assert.equal((await env.store.get(file.id)).downloadsLeft, 3);
  assert.equal((await env.store.claimDownload(file.id)).downloadsLeft, 2);
  assert.equal((await env.store.claimDownload(file.id)).downloadsLeft, 1);
  assert.equal((await env.store.get(file.id)).downloadsLeft, 1);
  assert.equal((await env.store.claimDownload(file.id)).downloadsLeft, 0);
  await assert.rejects(env.store.claimDownload(file.id), FileGoneError);
});

Deno.test("delete() needs the right token and removes the record and chunks at once", async () => {
  using env = await setup();
  const { file, deleteToken } = await env.store.put(pieces(randomBytes(2500)), {
    ...base,
    maxBytes: 1 << 20,
  });
  await assert.rejects(env.store.delete(file.id, "dt_wrong"), WrongDeleteTokenError);
  await assert.rejects(env.store.delete(file.id, deleteToken.slice(0, -1)), WrongDeleteTokenError);
  await env.store.get(file.id);
  await env.store.delete(file.id, deleteToken);
  await assertNothingStored(env.kv);
  assert.deepEqual(await keysOf(env.kv, "purge"), []);
  await assert.rejects(env.store.get(file.id), (error) => {
    assert.ok(error instanceof FileGoneError);
    assert.equal(error.reason, "deleted");
    return true;
  });
});

Deno.test("sweep() removes the chunks of a stalled upload and the upload then fails", async () => {
  using env = await setup();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  async function* stalled(): AsyncGenerator<Uint8Array> {
    yield randomBytes(4000);
    await gate;
    yield randomBytes(4000);
  }
  const upload = env.store.put(stalled(), { ...base, maxBytes: 1 << 20 });
  upload.catch(() => {});
  await waitFor(async () => (await keysOf(env.kv, "chunk")).length >= 3);
  assert.deepEqual(await env.store.sweep(), { files: 0, uploads: 0 }, "not stale yet");
  env.clock.now += 30_000;
  assert.deepEqual(await env.store.sweep(), { files: 0, uploads: 1 });
  assert.deepEqual(await keysOf(env.kv, "chunk"), []);
  release();
  await assert.rejects(upload, UploadInterruptedError);
  await assertNothingStored(env.kv);
});

Deno.test("put() keeps several chunk commits in flight: the round trips of an upload shrink with commitsInFlight", async () => {
  const roundTripsWith = async (commitsInFlight: number) => {
    await using raw = await Deno.openKv(":memory:");
    const counter = roundTripCounter(raw);
    const store = new KvLinkStore(counter.kv, {
      chunkSize: 1000,
      chunksPerCommit: 2,
      commitsInFlight,
    });
    const bytes = randomBytes(24_000); // 24 chunks: 12 commits
    const { value, roundTrips } = await counter.count(() =>
      store.put(pieces(bytes, 4000), { ...base, maxBytes: 1 << 20 })
    );
    assert.equal(value.file.chunkCount, 24);
    const { file } = await store.get(value.file.id);
    assert.deepEqual(await readAll(store.read(file)), bytes);
    return roundTrips;
  };
  const one = await roundTripsWith(1);
  const four = await roundTripsWith(4);
  // Lease (alongside the first chunks), then the chunk commits, then the file record.
  assert.equal(one, 14, "one at a time: the lease, 12 chunk commits, the record");
  assert.ok(four <= 6, `four in flight: ${four} round trips`);
});
