import assert from "node:assert/strict";
import { fakeChannelPair } from "./_fake_channel.ts";
import { TransferCanceledError } from "./errors.ts";
import { type ManifestMessage, ProtocolError } from "./messages.ts";
import { FileReceiver, type ReceivedFile } from "./receiver.ts";
import { FileSender } from "./sender.ts";
import { Sha256, sha256OfBlob } from "./sha256.ts";
import { BlobSink, type FileSink, WritableSink } from "./sinks.ts";

function randomBlob(size: number, type = "application/octet-stream"): Blob {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  }
  return new Blob([bytes], { type });
}

/**
 * Runs `action` once, inside the delivery of the message that brings the bytes
 * `channel` received to `bytes` or more: a fixed point of the transfer, whatever
 * the timing. Resolves once it ran.
 */
function whenReceived(channel: EventTarget, bytes: number, action: () => void): Promise<void> {
  return new Promise((resolve) => {
    let received = 0;
    const onMessage = (event: Event) => {
      const data = (event as MessageEvent).data;
      if (typeof data !== "string") received += (data as ArrayBuffer).byteLength;
      if (received < bytes) return;
      channel.removeEventListener("message", onMessage);
      action();
      resolve();
    };
    channel.addEventListener("message", onMessage);
  });
}

function blobOf(result: ReceivedFile): Blob {
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.saved.kind, "blob");
  return (result.saved as { kind: "blob"; blob: Blob }).blob;
}

Deno.test("FileSender and FileReceiver move files intact, verified, in order, with a complete ack", async () => {
  const [a, b] = fakeChannelPair();
  const files = [
    { blob: randomBlob(5 * 1024 * 1024 + 123), name: "big.bin" },
    { blob: new Blob([]), name: "empty.txt", type: "text/plain" },
    { blob: new Blob(["hello"], { type: "text/plain" }), name: "hi.txt" },
  ];
  const verified: number[] = [];
  const sinks: BlobSink[] = [];
  let manifest: ManifestMessage | null = null;
  const receiver = new FileReceiver(b, {
    openSink: (file) => {
      const sink = new BlobSink(file.type, { partBytes: 1024 * 1024 });
      sinks.push(sink);
      return sink;
    },
    onManifest: (message) => manifest = message,
  });
  const sender = new FileSender(a, files, {
    chunkBytes: 64 * 1024,
    onVerified: (index) => verified.push(index),
  });
  const [sent, received] = await Promise.all([sender.run(), receiver.done]);
  assert.deepEqual(sent, { verified: [0, 1, 2], failed: [] });
  assert.deepEqual(verified, [0, 1, 2]);
  assert.equal(manifest!.files.length, 3);
  assert.deepEqual(manifest!.files.map((file) => [file.name, file.size, file.type]), [
    ["big.bin", 5 * 1024 * 1024 + 123, "application/octet-stream"],
    ["empty.txt", 0, "text/plain"],
    ["hi.txt", 5, "text/plain"],
  ]);
  assert.equal(received.length, 3);
  for (const [index, file] of files.entries()) {
    const blob = blobOf(received[index]!);
    assert.equal(blob.size, file.blob.size);
    assert.equal(await sha256OfBlob(blob), await sha256OfBlob(file.blob));
    assert.equal(received[index]!.ok && received[index]!.sha256, await sha256OfBlob(file.blob));
  }
  assert.equal(sinks[0]!.pendingBytes, 0, "every byte went into Blob parts");
  assert.equal(sender.sentBytes, sender.totalBytes);
  assert.equal(receiver.receivedBytes, sender.totalBytes);
  // The wire: manifest, then per file start / chunks / end, then done.
  const log = a.sentLog.map((item) => typeof item === "string" ? JSON.parse(item).type : "bytes");
  assert.equal(log[0], "manifest");
  assert.equal(log[1], "file-start");
  assert.equal(log.at(-1), "done");
  assert.equal(
    log.filter((item) => item === "bytes").length,
    Math.ceil(files[0]!.blob.size / 65536) + 1,
  );
  assert.ok(
    a.sentLog.every((item) => typeof item === "string" || item <= 64 * 1024),
    "no chunk is larger than chunkBytes",
  );
});

Deno.test("FileSender keeps the send buffer under the high-water mark (backpressure)", async () => {
  // A slow channel: 256 KiB per tick, so the sender must wait for bufferedamountlow.
  const [a, b] = fakeChannelPair({ bytesPerTick: 256 * 1024 });
  const receiver = new FileReceiver(b, { openSink: (file) => new BlobSink(file.type) });
  const sender = new FileSender(a, [{ blob: randomBlob(24 * 1024 * 1024), name: "x" }], {
    chunkBytes: 128 * 1024,
    highWaterBytes: 4 * 1024 * 1024,
    lowWaterBytes: 1024 * 1024,
    // Not the receiver's stored point: the channel's buffer is what this test is about.
    storedWindowBytes: 64 * 1024 * 1024,
  });
  let lowSeen = 0;
  a.addEventListener("bufferedamountlow", () => lowSeen++);
  await Promise.all([sender.run(), receiver.done]);
  assert.ok(a.maxBuffered <= 4 * 1024 * 1024, `buffer reached ${a.maxBuffered}`);
  assert.ok(a.maxBuffered > 3 * 1024 * 1024, `the buffer was used: ${a.maxBuffered}`);
  assert.ok(lowSeen > 3, `paused and resumed ${lowSeen} times`);
});

Deno.test("a file damaged in flight fails its SHA-256 check: reported to both sides, not offered", async () => {
  const [a, b] = fakeChannelPair();
  a.tamper = (bytes, index) => {
    if (index === 3) bytes[100] = bytes[100]! ^ 0xff;
  };
  const aborted: number[] = [];
  const failedOnSender: [number, string][] = [];
  const receiver = new FileReceiver(b, {
    openSink: (file) => {
      const sink = new BlobSink(file.type);
      return {
        write: (bytes) => sink.write(bytes),
        close: () => sink.close(),
        abort: () => {
          aborted.push(file.index);
          return sink.abort();
        },
      } satisfies FileSink;
    },
  });
  const sender = new FileSender(a, [
    { blob: randomBlob(1024 * 1024), name: "damaged.bin" },
    { blob: new Blob(["fine"]), name: "fine.txt" },
  ], { onFailed: (index, code) => failedOnSender.push([index, code]) });
  const [sent, received] = await Promise.all([sender.run(), receiver.done]);
  assert.deepEqual(sent, { verified: [1], failed: [0] });
  assert.deepEqual(failedOnSender, [[0, "hash_mismatch"]]);
  assert.deepEqual(aborted, [0]);
  const damaged = received[0]!;
  assert.equal(damaged.ok, false);
  assert.ok(!damaged.ok && damaged.code === "hash_mismatch");
  assert.match(!damaged.ok ? damaged.message : "", /arrived damaged/);
  assert.ok(!damaged.ok && damaged.expected !== damaged.actual);
  assert.equal(await (blobOf(received[1]!)).text(), "fine");
});

Deno.test("a manifest hash that disagrees with the bytes fails the file too", async () => {
  const [a, b] = fakeChannelPair();
  const receiver = new FileReceiver(b, { openSink: (file) => new BlobSink(file.type) });
  const sender = new FileSender(a, [{
    blob: new Blob(["abc"]),
    name: "a",
    sha256: "0".repeat(64),
  }]);
  const [sent, received] = await Promise.all([sender.run(), receiver.done]);
  assert.deepEqual(sent.failed, [0]);
  assert.equal(received[0]!.ok, false);
});

Deno.test("the sender canceling mid-file stops both sides with TransferCanceledError", async () => {
  const [a, b] = fakeChannelPair({ bytesPerTick: 128 * 1024 });
  const controller = new AbortController();
  const aborted: number[] = [];
  const receiver = new FileReceiver(b, {
    openSink: (file) => {
      const sink = new BlobSink(file.type);
      return {
        write: (bytes) => sink.write(bytes),
        close: () => sink.close(),
        abort: () => {
          aborted.push(file.index);
          return sink.abort();
        },
      };
    },
  });
  const sender = new FileSender(a, [{ blob: randomBlob(8 * 1024 * 1024), name: "x" }], {
    signal: controller.signal,
  });
  const stopped = whenReceived(b, 1024 * 1024, () => {
    controller.abort(new Error("Stopped by the sender"));
  });
  const running = sender.run();
  const waiting = receiver.done;
  await stopped;
  await assert.rejects(running, (error) => {
    assert.ok(error instanceof TransferCanceledError);
    assert.equal(error.by, "local");
    return true;
  });
  await assert.rejects(waiting, (error) => {
    assert.ok(error instanceof TransferCanceledError);
    assert.equal(error.by, "peer");
    assert.equal(error.message, "Stopped by the sender");
    return true;
  });
  assert.deepEqual(aborted, [0], "the partial file was dropped");
  assert.ok(receiver.receivedBytes < 8 * 1024 * 1024);
});

Deno.test("the receiver canceling stops the sender with the receiver's reason", async () => {
  const [a, b] = fakeChannelPair({ bytesPerTick: 128 * 1024 });
  const receiver = new FileReceiver(b, { openSink: (file) => new BlobSink(file.type) });
  const sender = new FileSender(a, [{ blob: randomBlob(8 * 1024 * 1024), name: "x" }]);
  const canceled = whenReceived(b, 512 * 1024, () => receiver.cancel("Declined by the receiver"));
  const running = sender.run();
  const waiting = receiver.done;
  await canceled;
  await assert.rejects(waiting, TransferCanceledError);
  await assert.rejects(running, (error) => {
    assert.ok(error instanceof TransferCanceledError);
    assert.equal(error.by, "peer");
    assert.equal(error.message, "Declined by the receiver");
    return true;
  });
});

Deno.test("a dropped connection rejects both sides; nothing waits forever", async () => {
  const [a, b] = fakeChannelPair({ bytesPerTick: 128 * 1024 });
  const receiver = new FileReceiver(b, { openSink: (file) => new BlobSink(file.type) });
  const sender = new FileSender(a, [{ blob: randomBlob(8 * 1024 * 1024), name: "x" }]);
  const dropped = whenReceived(b, 512 * 1024, () => a.close());
  const running = sender.run();
  const waiting = receiver.done;
  await dropped;
  await assert.rejects(running, /closed/);
  await assert.rejects(waiting, /closed/);
});

/** The `file-start` messages sent on a channel. */
function fileStarts(log: (string | number)[]): { index: number; offset: number }[] {
  return log.filter((entry): entry is string => typeof entry === "string")
    .map((text) => JSON.parse(text))
    .filter((message) => message.type === "file-start")
    .map(({ index, offset }) => ({ index, offset }));
}

Deno.test("a connection broken mid-file resumes on a new channel from the receiver's byte: done files are not sent again, the SHA-256 covers every byte", async () => {
  const files = [
    { blob: randomBlob(100_000), name: "small.bin" },
    { blob: randomBlob(4 * 1024 * 1024 + 7), name: "big.bin" },
  ];
  const [a1, b1] = fakeChannelPair({ bytesPerTick: 128 * 1024 });
  // A slow disk: writes are still queued when the channel closes, and must not be lost.
  const slowSink = (type: string): FileSink => {
    const sink = new BlobSink(type);
    return {
      write: (bytes) => new Promise((resolve) => setTimeout(() => resolve(sink.write(bytes)), 1)),
      close: () => sink.close(),
      abort: () => sink.abort(),
    };
  };
  const first = new FileReceiver(b1, { openSink: (file) => slowSink(file.type) });
  const dropped = whenReceived(b1, 1_500_000, () => a1.close());
  await assert.rejects(new FileSender(a1, files).run(), /closed/);
  await assert.rejects(first.done, /closed/);
  await dropped;
  const progress = first.progress();
  assert.ok(progress?.partial, "the cut-off file is kept");
  assert.deepEqual(progress.results.map((result) => [result.index, result.ok]), [[0, true]]);
  const offset = progress.partial.received;
  assert.ok(offset > 1_000_000 && offset < files[1]!.blob.size, `offset ${offset}`);

  const [a2, b2] = fakeChannelPair();
  const second = new FileReceiver(b2, { progress, openSink: () => assert.fail("no new sink") });
  const resumed: unknown[] = [];
  let storedAtResume: unknown = "never";
  const sender = new FileSender(a2, files, {
    onResume: (resume, matched) => {
      resumed.push({ ...resume, matched });
      storedAtResume = sender.receiverStored;
    },
  });
  assert.equal(sender.receiverStored, null, "unknown before the receiver's resume");
  const [result, received] = await Promise.all([sender.run(), second.done]);
  assert.deepEqual(result, { verified: [0, 1], failed: [] });
  assert.equal(resumed.length, 1);
  assert.deepEqual(fileStarts(a2.sentLog), [{ index: 1, offset }]);
  const sentAgain = a2.sentLog.filter((entry) => typeof entry === "number")
    .reduce((sum: number, bytes) => sum + (bytes as number), 0);
  assert.equal(sentAgain, files[1]!.blob.size - offset, "only the missing bytes move");
  const big = received.find((file) => file.index === 1)!;
  assert.ok(big.ok);
  assert.equal(big.sha256, await sha256OfBlob(files[1]!.blob));
  assert.equal(await sha256OfBlob(blobOf(big)), big.sha256);
  assert.equal(sender.sentBytes, sender.totalBytes);
  assert.equal(sender.wireBytes, sentAgain);
  // What the relay fallback would start from: the receiver's own word, then its acks.
  assert.deepEqual(storedAtResume, { index: 1, offset });
  assert.deepEqual(sender.receiverStored, { index: 2, offset: 0 }, "everything stored");
});

Deno.test("a resume whose prefix hash does not match the sender's bytes starts that file over", async () => {
  const file = randomBlob(300_000);
  let aborted = false;
  const stale = new BlobSink("");
  stale.write(new Uint8Array(65_536));
  const progress = {
    files: [{ name: "x.bin", size: file.size, type: file.type }],
    results: [],
    partial: {
      index: 0,
      received: 65_536,
      // Bytes that are not the sender's: the hash proves it.
      hash: new Sha256().update(new Uint8Array(65_536)),
      sink: Promise.resolve<FileSink>({
        write: (bytes) => stale.write(bytes),
        close: () => stale.close(),
        abort: () => {
          aborted = true;
          return stale.abort();
        },
      }),
    },
    writes: Promise.resolve(),
  };
  const [a, b] = fakeChannelPair();
  const receiver = new FileReceiver(b, { progress, openSink: (f) => new BlobSink(f.type) });
  let matched: boolean | null = null;
  let storedAtResume: unknown = "never";
  const sender = new FileSender(a, [{ blob: file, name: "x.bin" }], {
    onResume: (_resume, prefixMatched) => {
      matched = prefixMatched;
      storedAtResume = sender.receiverStored;
    },
  });
  const [result, received] = await Promise.all([sender.run(), receiver.done]);
  assert.equal(matched, false);
  assert.deepEqual(result, { verified: [0], failed: [] });
  assert.deepEqual(fileStarts(a.sentLog), [{ index: 0, offset: 0 }]);
  assert.ok(aborted, "the bytes that did not match are dropped");
  assert.deepEqual(storedAtResume, { index: 0, offset: 0 }, "the dropped bytes do not count");
  assert.equal(await sha256OfBlob(blobOf(received[0]!)), await sha256OfBlob(file));
});

Deno.test("the receiver rejects bytes beyond the announced size and out-of-order messages", async () => {
  for (
    const script of [
      (send: (data: string | Uint8Array) => void) => {
        send(JSON.stringify({ type: "file-start", index: 0 }));
      },
      (send: (data: string | Uint8Array) => void) => {
        send(manifestText(4));
        send(JSON.stringify({ type: "file-start", index: 0 }));
        send(new Uint8Array(5));
      },
      (send: (data: string | Uint8Array) => void) => {
        send(manifestText(4));
        send(JSON.stringify({ type: "done" }));
      },
      (send: (data: string | Uint8Array) => void) => {
        send(manifestText(4));
        send(new Uint8Array(4));
      },
      (send: (data: string | Uint8Array) => void) => {
        send("{not json");
      },
    ]
  ) {
    const [a, b] = fakeChannelPair();
    const receiver = new FileReceiver(b, { openSink: (file) => new BlobSink(file.type) });
    const answer = new Promise<string>((resolve) =>
      a.addEventListener("message", (event: MessageEvent) => resolve(event.data))
    );
    script((data) => a.send(data as string));
    await assert.rejects(receiver.done, ProtocolError);
    assert.equal(JSON.parse(await answer).type, "cancel", "the sender is told why");
  }
});

function manifestText(size: number): string {
  return JSON.stringify({
    type: "manifest",
    version: 1,
    files: [{ index: 0, name: "a", size, type: "", sha256: null }],
    totalBytes: size,
    chunkBytes: 65536,
  });
}

Deno.test("WritableSink streams to a writable and removes the file when aborted", async () => {
  const written: number[] = [];
  const calls: string[] = [];
  const writable = {
    write: (data: Uint8Array) => {
      written.push(data.byteLength);
      return Promise.resolve();
    },
    close: () => {
      calls.push("close");
      return Promise.resolve();
    },
    abort: () => {
      calls.push("abort");
      return Promise.resolve();
    },
  };
  const [a, b] = fakeChannelPair();
  const receiver = new FileReceiver(b, {
    openSink: (file) =>
      new WritableSink(writable, file.name, {
        remove: () => {
          calls.push(`remove ${file.name}`);
          return Promise.resolve();
        },
      }),
  });
  const sender = new FileSender(a, [{ blob: randomBlob(300_000), name: "disk.bin" }]);
  const [, received] = await Promise.all([sender.run(), receiver.done]);
  assert.deepEqual(received[0]!.ok && received[0]!.saved, { kind: "disk", name: "disk.bin" });
  assert.equal(written.reduce((sum, size) => sum + size, 0), 300_000);
  assert.deepEqual(calls, ["close"]);
  await new WritableSink(writable, "gone.bin", {
    remove: () => {
      calls.push("remove gone.bin");
      return Promise.resolve();
    },
  }).abort();
  assert.deepEqual(calls, ["close", "abort", "remove gone.bin"]);
});

Deno.test("a slow asynchronous sink (disk) still gets every byte in order", async () => {
  const [a, b] = fakeChannelPair();
  const parts: Uint8Array[] = [];
  const receiver = new FileReceiver(b, {
    openSink: async () => {
      // The slowness is what is tested: a sink that opens late and writes at its own pace.
      await new Promise((resolve) => setTimeout(resolve, 5));
      return {
        write: async (bytes: Uint8Array) => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 2));
          parts.push(bytes.slice());
        },
        close: () => Promise.resolve({ kind: "disk" as const, name: "x" }),
        abort: () => Promise.resolve(),
      };
    },
  });
  const blob = randomBlob(2 * 1024 * 1024 + 9);
  const [sent] = await Promise.all([new FileSender(a, [{ blob, name: "x" }]).run(), receiver.done]);
  assert.deepEqual(sent.verified, [0]);
  assert.equal(await sha256OfBlob(new Blob(parts as BlobPart[])), await sha256OfBlob(blob));
});

Deno.test("a sink that cannot store the file stops the transfer and tells the sender why", async () => {
  const [a, b] = fakeChannelPair();
  const receiver = new FileReceiver(b, {
    openSink: () => ({
      write: () => Promise.reject(new Error("disk full")),
      close: () => Promise.resolve({ kind: "disk" as const, name: "x" }),
      abort: () => Promise.resolve(),
    }),
  });
  const running = new FileSender(a, [{ blob: randomBlob(1024 * 1024), name: "x" }]).run();
  await assert.rejects(receiver.done, /disk full/);
  await assert.rejects(running, (error) => {
    assert.ok(error instanceof TransferCanceledError);
    assert.equal(error.message, "The receiver could not store the file");
    return true;
  });
});
