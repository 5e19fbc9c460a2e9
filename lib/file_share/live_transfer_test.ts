import assert from "node:assert/strict";
import { ApiClientError } from "../client/mod.ts";
import { FakeShareWorld } from "./_fake_services.ts";
import { snippetFile } from "./files.ts";
import { generateKeyPair, secretFromFragment } from "./pairing/mod.ts";
import { LiveReceiver, type ReceiverView, storageKey } from "./live_receiver.ts";
import { LiveSender, readStoredSend, type SenderView } from "./live_sender.ts";
import type { Phase, TransferView } from "./view.ts";
import { FakeDirectory } from "./storage/_fake_directory.ts";
import { DEFAULT_SEGMENT_BYTES, ReceiveStore } from "./storage/mod.ts";

/** Every view a controller showed, and a way to wait for one (an event, not the clock). */
class Views<V extends TransferView> {
  all: V[] = [];
  #waiters: { check(view: V): boolean; resolve(view: V): void }[] = [];

  readonly onChange = (view: V): void => {
    this.all.push(view);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.check(view)) return true;
      waiter.resolve(view);
      return false;
    });
  };

  get last(): V {
    const view = this.all.at(-1);
    if (!view) throw new Error("No view yet");
    return view;
  }

  /** The distinct phases in the order they were shown. */
  get phases(): Phase[] {
    return this.all.map((view) => view.phase).filter((phase, index, phases) =>
      phase !== phases[index - 1]
    );
  }

  /** Resolves with the first view (the current one included) for which `check` holds. */
  until(check: (view: V) => boolean, what: string): Promise<V> {
    const current = this.all.at(-1);
    if (current && check(current)) return Promise.resolve(current);
    return new Promise((resolve, reject) => {
      // A guard so a broken state machine fails the test instead of hanging it.
      const guard = setTimeout(() => reject(new Error(`Never shown: ${what}`)), 10_000);
      this.#waiters.push({
        check,
        resolve: (view) => {
          clearTimeout(guard);
          resolve(view);
        },
      });
    });
  }
}

function memoryStorage(): Storage {
  const entries = new Map<string, string>();
  return {
    get length() {
      return entries.size;
    },
    clear: () => entries.clear(),
    key: (index) => [...entries.keys()][index] ?? null,
    getItem: (key) => entries.get(key) ?? null,
    setItem: (key, value) => void entries.set(key, value),
    removeItem: (key) => void entries.delete(key),
  };
}

function randomFile(name: string, size: number): File {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
  }
  return new File([bytes], name, { type: "application/octet-stream" });
}

async function sha256Hex(blob: Blob): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Lets timers of zero delay (the fake channels' deliveries and close events) run out. */
async function settle(): Promise<void> {
  for (let round = 0; round < 3; round++) await new Promise((resolve) => setTimeout(resolve, 0));
}

const done = (view: TransferView) => view.phase === "done";

/** A sender and a receiver of one transfer in `world`, both disposed at the end of a test. */
class Transfer {
  readonly senderViews = new Views<SenderView>();
  readonly receiverViews = new Views<ReceiverView>();
  readonly storage = memoryStorage();
  /** The send page's session storage. */
  readonly senderStorage = memoryStorage();
  readonly sender: LiveSender;
  readonly receiver: LiveReceiver;
  readonly world: FakeShareWorld;
  #others: LiveReceiver[] = [];

  /**
   * Without `confirmWords: false`, the sender's person confirms the words as
   * soon as the page asks (tests of other things with a typed-code receiver).
   */
  constructor(
    world: FakeShareWorld,
    options: { maxUploadBytes?: number; confirmWords?: boolean; fallbackTimeoutMs?: number } = {},
  ) {
    this.world = world;
    const confirmWords = options.confirmWords ?? true;
    this.sender = new LiveSender({
      fallbackTimeoutMs: options.fallbackTimeoutMs ?? 60_000,
      maxUploadBytes: options.maxUploadBytes ?? 64 * 1024 * 1024,
      downloadCheckMs: 1,
      services: world.services(),
      storage: this.senderStorage,
      onChange: (view) => {
        this.senderViews.onChange(view);
        if (confirmWords && view.awaitingWords) queueMicrotask(() => this.sender.confirmWords());
      },
    });
    this.receiver = this.receiverIn(this.storage, this.receiverViews);
  }

  /** Another receiver page for the same code (a reload, or another tab), from the link with `secret`. */
  receiverIn(
    storage: Storage,
    views: Views<ReceiverView>,
    secret: string | null = null,
    fileStore: ReceiveStore | null = null,
  ): LiveReceiver {
    const receiver = new LiveReceiver({
      code: this.world.code,
      secret,
      storage,
      fileStore,
      services: this.world.services(),
      onChange: views.onChange,
    });
    this.#others.push(receiver);
    return receiver;
  }

  /** The sender creates the session; the receiver joins it and shows the files to accept. */
  async review(files: File[]): Promise<ReceiverView> {
    await this.sender.start(files);
    await this.receiver.start();
    return await this.receiverViews.until(
      (view) => view.files.length === files.length,
      "the files to review",
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.sender.dispose();
    for (const receiver of this.#others) receiver.dispose();
    await settle();
  }
}

Deno.test("LiveSender and LiveReceiver move files directly: both go signaling → connecting → connected → transferring → done, every file verified", async () => {
  await using transfer = new Transfer(new FakeShareWorld());
  const { world, receiver, senderViews, receiverViews, storage } = transfer;
  const big = randomFile("big.bin", 2_500_000);
  await transfer.review([snippetFile("the password is hunter2"), big]);
  const review = await receiverViews.until((view) => view.peer === "joined", "the sender online");
  assert.equal(review.phase, "signaling");
  assert.equal(review.accepted, false);
  await senderViews.until((view) => view.peer === "joined", "the receiver joined");
  receiver.accept();
  const received = await receiverViews.until(done, "the receiver done");
  const sent = await senderViews.until(done, "the sender done");

  const direct = ["signaling", "connecting", "connected", "transferring", "done"];
  assert.deepEqual(senderViews.phases, direct);
  assert.deepEqual(receiverViews.phases, direct);
  assert.equal(sent.route, "direct");
  assert.deepEqual(sent.files.map((file) => file.status), ["verified", "verified"]);
  assert.deepEqual(received.files.map((file) => file.status), ["verified", "verified"]);
  assert.equal(received.files[0]?.text, "the password is hunter2");
  assert.equal(received.files[1]?.sha256, await sha256Hex(big));
  assert.equal(received.bytes, received.totalBytes);
  assert.deepEqual(world.sentTypes("joiner").slice(0, 3), ["pairing-key", "ready", "answer"]);
  assert.deepEqual(world.sentTypes("creator").slice(0, 4), [
    "pairing-key",
    "sealed-files",
    "offer",
    "ice-candidate",
  ]);
  // The candidate that came while the answer was prepared was kept for its connection.
  assert.deepEqual(world.peers[1]?.candidates, [{ candidate: "c-offer-1" }]);
  assert.equal(JSON.parse(storage.getItem(storageKey(world.code))!).finished, true);

  // The same tab again: nothing to join any more.
  const again = new Views<ReceiverView>();
  await transfer.receiverIn(storage, again).start();
  assert.equal(again.last.problem, "already_received");
});

Deno.test("a receiver that declines ends the sender's transfer as canceled by the peer", async () => {
  await using transfer = new Transfer(new FakeShareWorld());
  const { world, receiver, senderViews, receiverViews, storage } = transfer;
  await transfer.review([randomFile("a.bin", 1000)]);
  receiver.decline();
  assert.equal(receiverViews.last.phase, "canceled");
  assert.equal(receiverViews.last.canceledBy, "you");
  const canceled = await senderViews.until((view) => view.phase === "canceled", "canceled");
  assert.equal(canceled.canceledBy, "peer");
  assert.equal(canceled.reason, "Declined by the receiver");
  assert.equal(storage.getItem(storageKey(world.code)), null, "a reload does not rejoin");
  assert.equal(world.channels.length, 0, "no connection was made");
});

Deno.test("the sender's cancel reaches the receiver as canceled by the peer, with the sender's reason", async () => {
  await using transfer = new Transfer(new FakeShareWorld());
  const { sender, senderViews, receiverViews } = transfer;
  await transfer.review([randomFile("a.bin", 1000)]);
  sender.cancel();
  assert.equal(senderViews.last.canceledBy, "you");
  const canceled = await receiverViews.until((view) => view.phase === "canceled", "canceled");
  assert.equal(canceled.canceledBy, "peer");
  assert.equal(canceled.reason, "Canceled by the sender");
});

Deno.test("when the browsers cannot connect, the sender uploads to the relay and the receiver downloads every file from it", async () => {
  const world = new FakeShareWorld();
  world.peerMode = "fail";
  await using transfer = new Transfer(world);
  const { receiver, senderViews, receiverViews } = transfer;
  const files = [randomFile("one.bin", 3000), randomFile("two.bin", 5000)];
  await transfer.review(files);
  receiver.accept();
  const received = await receiverViews.until(done, "the receiver done");
  assert.equal(received.route, "relay");
  assert.deepEqual(
    received.files.map((file) => file.sha256),
    [await sha256Hex(files[0]!), await sha256Hex(files[1]!)],
  );
  const sent = await senderViews.until(
    (view) => view.files.every((file) => file.status === "downloaded"),
    "both files downloaded from the relay",
  );
  assert.equal(sent.phase, "done");
  assert.equal(sent.route, "relay");
  assert.equal(sent.relayReason, "The browsers could not connect directly (ICE failed)");
  assert.equal(world.sentTypes("creator").filter((type) => type === "fallback-link").length, 2);
});

Deno.test("a direct connection lost midway reconnects through signaling and resumes: done files are not sent again, the final SHA-256 covers every byte", async () => {
  const world = new FakeShareWorld();
  world.dropAfterChunks = 20; // 1.25 MiB: inside the second file
  world.drops = 1;
  await using transfer = new Transfer(world);
  const { receiver, senderViews, receiverViews } = transfer;
  const small = randomFile("small.bin", 200_000);
  const big = randomFile("big.bin", 3_000_000);
  await transfer.review([small, big]);
  receiver.accept();
  await senderViews.until(
    (view) => view.reason?.startsWith("The direct connection was lost") ?? false,
    "the sender reconnecting",
  );
  const received = await receiverViews.until(done, "the receiver done");
  assert.equal(received.route, "direct");
  assert.equal(received.files[0]?.sha256, await sha256Hex(small));
  assert.equal(received.files[1]?.sha256, await sha256Hex(big));
  const sent = await senderViews.until(done, "the sender done");
  assert.equal(sent.relayReason, undefined, "no relay");
  assert.equal(world.channels.length, 2, "one reconnect");
  // The second connection sends only the rest of the big file.
  const starts = world.channels[1]!.sentLog.filter((entry) => typeof entry === "string")
    .map((text) => JSON.parse(text as string)).filter((message) => message.type === "file-start");
  assert.equal(starts.length, 1);
  assert.equal(starts[0].index, 1);
  assert.ok(starts[0].offset > 0, "resumed mid-file");
  const total = small.size + big.size;
  // Counted as bytes handed to the channel minus what it still buffered (control text included).
  assert.ok(sent.wireBytes! > total * 0.99, `sent ${sent.wireBytes}`);
  assert.ok(sent.wireBytes! - total < total * 0.1, `sent twice ${sent.wireBytes! - total}`);
  assert.equal(world.relay.size, 0);
});

Deno.test("an answer to an earlier offer reaching a reconnecting sender first is ignored by its attempt id: the right answer connects at once", async () => {
  const world = new FakeShareWorld();
  world.dropAfterChunks = 20;
  world.drops = 1;
  world.replayStaleAnswers = true;
  await using transfer = new Transfer(world);
  const file = randomFile("big.bin", 2_000_000);
  await transfer.review([file]);
  transfer.receiver.accept();
  const received = await transfer.receiverViews.until(done, "the receiver done");
  assert.equal(received.files[0]?.sha256, await sha256Hex(file));
  assert.equal(world.staleAnswersTaken, 0, "no answer of another attempt taken");
  const answers = world.sent.filter((entry) => entry.frame.type === "answer");
  assert.equal(answers.length, 2, "each offer answered once");
  assert.deepEqual(
    answers.map((entry) => entry.frame.type === "answer" && entry.frame.attempt),
    world.sent.filter((entry) => entry.frame.type === "offer")
      .map((entry) => entry.frame.type === "offer" && entry.frame.attempt),
    "each answer echoes its offer's attempt id",
  );
  assert.equal(world.channels.length, 2, "one reconnect, no attempt wasted");
});

Deno.test("answers without an attempt id (a receiver from before attempt ids) are still taken", async () => {
  const world = new FakeShareWorld();
  world.answersWithoutAttempt = true;
  await using transfer = new Transfer(world);
  const file = randomFile("small.bin", 100_000);
  await transfer.review([file]);
  transfer.receiver.accept();
  const received = await transfer.receiverViews.until(done, "the receiver done");
  assert.equal(received.files[0]?.sha256, await sha256Hex(file));
  assert.ok(world.sent.some((entry) => entry.frame.type === "answer" && !entry.frame.attempt));
});

Deno.test("a send page reloaded mid-file resumes once the same files are picked again: other files are refused, the receiver's bytes are not sent again", async () => {
  const world = new FakeShareWorld();
  await using transfer = new Transfer(world);
  const { receiver, senderViews, receiverViews, senderStorage } = transfer;
  const small = randomFile("small.bin", 100_000);
  const big = randomFile("big.bin", 3_000_000);
  await transfer.review([snippetFile("hello"), small, big]);
  receiver.accept();
  await senderViews.until((view) => view.phase === "transferring", "the first connection");
  // The page goes away once 1.5 MB arrived (inside the big file), as a reload does.
  let arrived = 0;
  world.channels[0]!.peer!.addEventListener("message", (event: MessageEvent) => {
    const data = (event as MessageEvent).data;
    if (typeof data !== "string") arrived += (data as ArrayBuffer).byteLength;
    if (arrived >= 1_500_000) transfer.sender.dispose();
  });
  await receiverViews.until(
    (view) => view.reason?.startsWith("The direct connection was lost") ?? false,
    "the receiver waiting",
  );
  const stored = readStoredSend(senderStorage);
  assert.ok(stored, "the send page kept its transfer");
  const views = new Views<SenderView>();
  using again = new LiveSender({
    fallbackTimeoutMs: 60_000,
    maxUploadBytes: 64 * 1024 * 1024,
    services: world.services(),
    storage: senderStorage,
    onChange: views.onChange,
  });
  assert.match(
    await again.resume(stored, [small, randomFile("big.bin", 5)]) ?? "",
    /Pick the same files again: "big.bin" is missing/,
  );
  assert.equal(await again.resume(stored, [big, small]), null);
  const received = await receiverViews.until(done, "the receiver done");
  assert.equal(received.files[1]?.sha256, await sha256Hex(small));
  assert.equal(received.files[2]?.sha256, await sha256Hex(big));
  await views.until(done, "the reloaded sender done");
  const starts = world.channels.at(-1)!.sentLog.filter((entry) => typeof entry === "string")
    .map((text) => JSON.parse(text as string)).filter((message) => message.type === "file-start");
  assert.deepEqual(starts.map((start) => start.index), [2], "only the big file, resumed");
  assert.ok(starts[0].offset > 0);
  assert.equal(readStoredSend(senderStorage), null, "forgotten once done");
});

Deno.test("a receive page reloaded mid-file resumes from its OPFS segments: the sender goes on after them, the SHA-256 covers every byte", async () => {
  const world = new FakeShareWorld();
  await using transfer = new Transfer(world);
  const directory = new FakeDirectory();
  const storage = memoryStorage();
  const firstStore = new ReceiveStore(directory);
  // A page that reloads gets no chance to delete anything.
  firstStore.removeAll = () => Promise.resolve();
  const firstViews = new Views<ReceiverView>();
  const first = transfer.receiverIn(storage, firstViews, null, firstStore);
  const big = randomFile("big.bin", 7_000_000);
  await transfer.sender.start([big]);
  await first.start();
  await firstViews.until((view) => view.files.length === 1, "the file list");
  first.accept();
  await transfer.senderViews.until((view) => view.phase === "transferring", "transferring");
  let arrived = 0;
  world.channels[0]!.peer!.addEventListener("message", (event: MessageEvent) => {
    if (typeof event.data !== "string") arrived += (event.data as ArrayBuffer).byteLength;
    if (arrived >= 5_000_000) first.dispose();
  });
  const views = new Views<ReceiverView>();
  await transfer.senderViews.until(
    (view) => view.reason?.startsWith("The direct connection was lost") ?? false,
    "the sender reconnecting",
  );
  await settle();
  const reloaded = transfer.receiverIn(storage, views, null, new ReceiveStore(directory));
  await reloaded.start();
  const received = await views.until(done, "the reloaded receiver done");
  assert.equal(received.files[0]?.sha256, await sha256Hex(big));
  const starts = world.channels.at(-1)!.sentLog.filter((entry) => typeof entry === "string")
    .map((text) => JSON.parse(text as string)).filter((message) => message.type === "file-start");
  assert.equal(starts.length, 1);
  assert.ok(starts[0].offset >= DEFAULT_SEGMENT_BYTES, `resumed at ${starts[0].offset}`);
  assert.equal(starts[0].offset % DEFAULT_SEGMENT_BYTES, 0, "after the last committed segment");
  const saved = reloaded.fileBlob(0)!;
  assert.equal(await sha256Hex(saved), await sha256Hex(big), "the saved file is byte-identical");
});

Deno.test("when the reconnect does not succeed within the fallback timeout, the relay gets only the files not yet verified", async () => {
  const world = new FakeShareWorld();
  await using transfer = new Transfer(world, { fallbackTimeoutMs: 50 });
  const { receiver, senderViews, receiverViews } = transfer;
  const small = randomFile("small.bin", 100_000);
  const big = randomFile("big.bin", 12_000_000);
  await transfer.review([small, big]);
  receiver.accept();
  await senderViews.until((view) => view.files[0]?.status === "verified", "the first file");
  // The connection breaks mid-file, and the browsers cannot connect again.
  world.peerMode = "fail";
  world.channels[0]!.close();
  const received = await receiverViews.until(done, "the receiver done");
  assert.equal(received.route, "relay");
  assert.equal(received.files[1]?.sha256, await sha256Hex(big));
  const sent = await senderViews.until(done, "the sender done");
  assert.equal(sent.relayReason, "The browsers did not connect in time");
  assert.deepEqual([...world.relay.values()].map((file) => file.name), ["big.bin"]);
});

/**
 * A transfer of `files` into an in-memory OPFS folder whose connection breaks
 * for good once `breakAt` file bytes arrived, so that the relay takes over.
 */
async function brokenForGood(
  world: FakeShareWorld,
  transfer: Transfer,
  files: File[],
  breakAt: number,
): Promise<
  { receiver: LiveReceiver; views: Views<ReceiverView>; directory: FakeDirectory; storage: Storage }
> {
  const directory = new FakeDirectory();
  const views = new Views<ReceiverView>();
  const storage = memoryStorage();
  const store = new ReceiveStore(directory);
  // A page that reloads gets no chance to delete anything.
  store.removeAll = () => Promise.resolve();
  const receiver = transfer.receiverIn(storage, views, null, store);
  await transfer.sender.start(files);
  await receiver.start();
  await views.until((view) => view.files.length === files.length, "the file list");
  receiver.accept();
  await transfer.senderViews.until((view) => view.phase === "transferring", "transferring");
  let arrived = 0;
  const channel = world.channels[0]!;
  channel.peer!.addEventListener("message", (event: MessageEvent) => {
    if (typeof event.data !== "string") arrived += (event.data as ArrayBuffer).byteLength;
    if (arrived >= breakAt && world.peerMode === "connect") {
      // The browsers cannot connect again.
      world.peerMode = "fail";
      channel.close();
    }
  });
  return { receiver, views, directory, storage };
}

Deno.test("after a break that never heals, the relay gets only the rest of the half-received file; the receiver appends it to its OPFS segments and the SHA-256 covers every byte", async () => {
  const world = new FakeShareWorld();
  await using transfer = new Transfer(world, { fallbackTimeoutMs: 50 });
  const small = randomFile("small.bin", 100_000);
  const big = randomFile("big.bin", 7_000_000);
  const { receiver, views } = await brokenForGood(world, transfer, [small, big], 4_500_000);
  const received = await views.until(done, "the receiver done");
  const sent = await transfer.senderViews.until(done, "the sender done");
  assert.equal(received.route, "relay");
  assert.equal(sent.relayReason, "The browsers did not connect in time");
  assert.deepEqual(received.files.map((file) => file.status), ["verified", "verified"]);
  // Only the end of the big file went to the relay. (On a busy machine the small file's
  // confirmation can still be on its way when the channel breaks: then its rest goes up,
  // empty, as the next test checks.)
  const uploads = [...world.relay.values()].filter((file) => file.blob.size > 0);
  assert.deepEqual(uploads.map((file) => file.name), ["big.bin"]);
  const relayed = uploads[0]!.blob.size;
  assert.ok(relayed < big.size * 0.8, `relayed ${relayed} of ${big.size}`);
  assert.deepEqual(
    new Uint8Array(await uploads[0]!.blob.arrayBuffer()),
    new Uint8Array(await big.slice(big.size - relayed).arrayBuffer()),
    "the upload is the file's end",
  );
  // The link says where that end starts only sealed; it carries no key.
  const link = world.sent.flatMap(({ frame }) => frame.type === "fallback-link" ? [frame.url] : []);
  assert.equal(link.length, 1);
  const fragment = new URLSearchParams(new URL(link[0]!).hash.slice(1));
  assert.equal(fragment.get("k"), null, "no key");
  assert.ok(fragment.get("t"), "sealed tail details");
  assert.ok(!link[0]!.includes(String(big.size - relayed)), "no offset in clear");
  // The receiver's own bytes and the relay's rest make the file, byte for byte.
  assert.equal(received.files[1]?.sha256, await sha256Hex(big));
  const saved = receiver.fileBlob(1)!;
  assert.deepEqual(
    new Uint8Array(await saved.arrayBuffer()),
    new Uint8Array(await big.arrayBuffer()),
  );
});

Deno.test("a file verified just before the break whose confirmation was lost costs the relay no bytes: its rest is empty and the receiver keeps its copy", async () => {
  const world = new FakeShareWorld();
  await using transfer = new Transfer(world, { fallbackTimeoutMs: 50 });
  const first = randomFile("first.bin", 2_000_000);
  const second = randomFile("second.bin", 5_000_000);
  const { receiver, views } = await brokenForGood(world, transfer, [first, second], 5_000_000);
  // The receiver's `file-verified` of the first file never reaches the sender.
  const channel = world.channels[0]!.peer!;
  const send = channel.send.bind(channel);
  channel.send = (data) => {
    if (typeof data === "string" && JSON.parse(data).type === "file-verified") return;
    send(data);
  };
  const received = await views.until(done, "the receiver done");
  await transfer.senderViews.until(done, "the sender done");
  assert.equal(received.route, "relay");
  const uploads = new Map([...world.relay.values()].map((file) => [file.name, file.blob.size]));
  assert.equal(uploads.get("first.bin"), 0, "nothing of the first file again");
  assert.ok(uploads.get("second.bin")! < second.size * 0.8, `${uploads.get("second.bin")}`);
  for (const [index, file] of [first, second].entries()) {
    assert.equal(received.files[index]?.sha256, await sha256Hex(file));
    const saved = receiver.fileBlob(index)!;
    assert.equal(await sha256Hex(saved), await sha256Hex(file), `${file.name} byte-identical`);
  }
});

Deno.test("a relayed rest that does not make the sender's file with the receiver's bytes fails that file, and its partial copy is deleted", async () => {
  const world = new FakeShareWorld();
  await using transfer = new Transfer(world, { fallbackTimeoutMs: 50 });
  const small = randomFile("small.bin", 100_000);
  const big = randomFile("big.bin", 7_000_000);
  // The relay copy's last byte is changed on the way (the real relay's AES-GCM would refuse
  // this; it stands for any rest that does not continue the receiver's bytes). The last one:
  // the receiver may skip the first bytes of the rest (it may hold more than the sender knew).
  const lastByte = new Uint8Array(await big.slice(-1).arrayBuffer())[0]!;
  const store = world.relay.set.bind(world.relay);
  world.relay.set = (id, file) =>
    store(id, {
      ...file,
      blob: new Blob([file.blob.slice(0, -1), new Uint8Array([lastByte ^ 0xff])]),
    });
  const { receiver, views, directory } = await brokenForGood(
    world,
    transfer,
    [small, big],
    4_500_000,
  );
  const received = await views.until(done, "the receiver done");
  assert.equal(received.route, "relay");
  assert.equal(received.files[0]?.status, "verified");
  assert.equal(received.files[1]?.status, "failed");
  assert.match(received.files[1]?.message ?? "", /Arrived damaged/);
  assert.equal(receiver.fileBlob(1), null, "never offered");
  assert.equal(directory.files.size, 1, "only the small file's segment is left");
  assert.ok([...world.relay.values()][0]!.blob.size < big.size, "only the rest was relayed");
});

Deno.test("a receive page reloaded while the relay holds only the rest of its file: the sender uploads the whole file again, the file ends byte-identical", async () => {
  const world = new FakeShareWorld();
  await using transfer = new Transfer(world, { fallbackTimeoutMs: 50 });
  const big = randomFile("big.bin", 7_000_000);
  const { receiver, directory, storage } = await brokenForGood(world, transfer, [big], 4_500_000);
  // The page reloads as the rest's link is sent (before it reads it): its storage and
  // committed OPFS segments survive, and a page that reloads deletes nothing.
  const publish = world.publish.bind(world);
  let reloaded: LiveReceiver | null = null;
  const views = new Views<ReceiverView>();
  world.publish = (from, frame) => {
    if (frame.type === "fallback-link" && !reloaded) {
      receiver.dispose();
      const store = new ReceiveStore(directory);
      reloaded = transfer.receiverIn(storage, views, null, store);
      queueMicrotask(() => void reloaded!.start());
    }
    publish(from, frame);
  };
  const received = await views.until(done, "the reloaded receiver done");
  assert.equal(received.files[0]?.sha256, await sha256Hex(big));
  const saved = reloaded!.fileBlob(0)!;
  assert.deepEqual(
    new Uint8Array(await saved.arrayBuffer()),
    new Uint8Array(await big.arrayBuffer()),
  );
  // The page may finish with the rest (it kept enough) before the whole copy is up.
  await transfer.senderViews.until(
    (view) => view.phase === "done" && world.relay.size === 2,
    "the whole file uploaded",
  );
  const links = world.sent.flatMap(({ frame }) =>
    frame.type === "fallback-link" ? [new URLSearchParams(new URL(frame.url).hash.slice(1))] : []
  );
  assert.ok(links[0]?.get("t"), "first only the rest");
  assert.equal(links.at(-1)?.get("t"), null, "then the whole file");
  assert.deepEqual(
    [...world.relay.values()].map((file) => file.blob.size === big.size),
    [false, true],
    "the rest, then the whole file",
  );
  assert.ok(
    !views.all.some((view) => view.phase === "failed"),
    "the reloaded page never shows a failure",
  );
});

Deno.test("a file larger than the relay's limit ends the session when the browsers cannot connect", async () => {
  const world = new FakeShareWorld();
  world.peerMode = "fail";
  await using transfer = new Transfer(world, { maxUploadBytes: 1000 });
  const { sender, receiver, senderViews, receiverViews } = transfer;
  await transfer.review([randomFile("huge.bin", 5000)]);
  receiver.accept();
  const failed = await senderViews.until((view) => view.phase === "failed", "the sender failed");
  assert.equal(failed.problem, "closed");
  assert.match(failed.reason ?? "", /"huge\.bin" is larger than the relay's limit of/);
  assert.equal(sender.retry(), false, "a closed session cannot be retried");
  const canceled = await receiverViews.until((view) => view.phase === "canceled", "canceled");
  assert.match(canceled.reason ?? "", /larger than the relay's limit/);
});

Deno.test("a join the server refuses shows its problem and the reason for people", async () => {
  const refusals = [
    [
      new ApiClientError(409, "session_already_joined", "Someone already joined"),
      "Someone already joined this transfer. Each code works only once.",
    ],
    [
      new ApiClientError(0, "network_error", "The server cannot be reached"),
      "The server cannot be reached",
    ],
  ] as const;
  for (const [error, reason] of refusals) {
    const world = new FakeShareWorld();
    world.joinError = error;
    await using transfer = new Transfer(world);
    await transfer.receiver.start();
    assert.equal(transfer.receiverViews.last.phase, "failed");
    assert.equal(transfer.receiverViews.last.problem, error.code);
    assert.equal(transfer.receiverViews.last.reason, reason);
  }
});

Deno.test("a signaling socket the server refuses shows why: Session not found", async () => {
  await using transfer = new Transfer(new FakeShareWorld());
  const { world, receiverViews } = transfer;
  await transfer.review([randomFile("a.bin", 1000)]);
  world.socket("joiner").refuse(4404, {
    code: "session_not_found",
    message: 'No transfer session "K7QX3M"',
  });
  assert.equal(receiverViews.last.phase, "failed");
  assert.equal(receiverViews.last.problem, "session_not_found");
  assert.match(receiverViews.last.reason ?? "", /^Session not found/);
});

Deno.test("signaling that keeps failing fails each side in a way retry() takes up again", async () => {
  await using transfer = new Transfer(new FakeShareWorld());
  const { world, sender, receiver, senderViews, receiverViews } = transfer;
  await transfer.review([randomFile("a.bin", 1000)]);

  world.socket("creator").failing(4);
  assert.equal(senderViews.last.phase, "failed");
  assert.equal(senderViews.last.problem, "signaling");
  assert.equal(senderViews.last.reason, "The connection to the server keeps failing");
  assert.equal(sender.retry(), true);
  assert.equal(senderViews.last.phase, "connecting", "the receiver is online");
  await senderViews.until((view) => view.reconnecting === false, "the sender reconnected");

  world.socket("joiner").failing(4);
  assert.equal(receiverViews.last.phase, "failed");
  assert.equal(receiverViews.last.problem, undefined, "the page offers a retry, not a problem");
  receiver.retry();
  await receiverViews.until((view) => view.reconnecting === false, "the receiver reconnected");
  receiver.accept();
  await receiverViews.until(done, "the receiver done");
  await senderViews.until(done, "the sender done");
});

Deno.test("a reloaded receiver rejoins from session storage without joining again and gets the files", async () => {
  await using transfer = new Transfer(new FakeShareWorld());
  const { world, receiver, senderViews, storage } = transfer;
  const file = randomFile("a.bin", 200_000);
  await transfer.review([file]);
  receiver.accept();
  receiver.dispose(); // the tab reloads before the browsers connected
  const views = new Views<ReceiverView>();
  await transfer.receiverIn(storage, views).start();
  assert.equal(views.last.accepted, true);
  assert.equal(views.last.phase, "connecting");
  const received = await views.until(done, "the reloaded receiver done");
  assert.equal(received.files[0]?.sha256, await sha256Hex(file));
  await senderViews.until(done, "the sender done");
  assert.equal(world.joins, 1, "joined once");
  assert.equal(world.sentTypes("joiner").filter((type) => type === "ready").length, 2);
});

/** The sender starts; a receiver opens its join link (with the fragment's secret) or types the code. */
async function pairedTransfer(
  world: FakeShareWorld,
  files: File[],
  via: "link" | "code",
  options: { confirmWords?: boolean } = {},
): Promise<{ transfer: Transfer; receiver: LiveReceiver; views: Views<ReceiverView> }> {
  const transfer = new Transfer(world, options);
  await transfer.sender.start(files);
  const link = transfer.sender.view.joinUrl!;
  const secret = secretFromFragment(new URL(link).hash);
  assert.ok(secret, "the join link carries a secret in its fragment");
  const views = new Views<ReceiverView>();
  const receiver = transfer.receiverIn(memoryStorage(), views, via === "link" ? secret : null);
  await receiver.start();
  return { transfer, receiver, views };
}

/** Everything the server got from both sides, as text. */
function serverSaw(world: FakeShareWorld): string {
  return JSON.stringify(world.sent);
}

Deno.test("through the link, both pages say verified and show the same words; the server sees no file name", async () => {
  const world = new FakeShareWorld();
  const file = randomFile("secret-plans.bin", 300_000);
  const { transfer, receiver, views } = await pairedTransfer(world, [file], "link");
  await using _ = transfer;
  const review = await views.until((view) => view.files.length === 1, "the sealed file list");
  assert.equal(review.files[0]?.name, "secret-plans.bin");
  assert.equal(review.pairing, "verified");
  receiver.accept();
  const received = await views.until(done, "the receiver done");
  const sent = await transfer.senderViews.until(done, "the sender done");
  assert.equal(received.files[0]?.sha256, await sha256Hex(file));
  assert.equal(sent.pairing, "verified");
  assert.equal(received.pairing, "verified");
  assert.equal(sent.sas?.length, 4);
  assert.deepEqual(received.sas, sent.sas);
  assert.ok(!serverSaw(world).includes("secret-plans"), "the file list went sealed");
  const secret = secretFromFragment(new URL(sent.joinUrl!).hash)!;
  assert.ok(!serverSaw(world).includes(secret), "the secret never went to the server");
  assert.ok(!transfer.senderViews.all.some((view) => view.awaitingWords), "no words to confirm");
});

Deno.test("with a typed code, the pages pair without the secret: the same words to compare, no verified", async () => {
  const world = new FakeShareWorld();
  const { transfer, receiver, views } = await pairedTransfer(
    world,
    [randomFile("a.bin", 1000)],
    "code",
  );
  await using _ = transfer;
  const review = await views.until((view) => view.files.length === 1, "the sealed file list");
  assert.equal(review.pairing, null);
  receiver.accept();
  const received = await views.until(done, "the receiver done");
  const sent = await transfer.senderViews.until(done, "the sender done");
  assert.equal(sent.pairing, "compare");
  assert.equal(received.pairing, "compare");
  assert.deepEqual(received.sas, sent.sas);
  assert.ok(world.sent.some(({ frame }) => frame.type === "pairing-key" && !frame.withSecret));
});

Deno.test("someone rewriting the key exchange on signaling: with the link's secret the receiver refuses before accepting", async () => {
  const world = new FakeShareWorld();
  const mallory = await generateKeyPair();
  world.rewritePairingKeys = () => mallory.publicKey;
  const { transfer, views } = await pairedTransfer(world, [randomFile("a.bin", 1000)], "link");
  await using _ = transfer;
  const refused = await views.until((view) => view.phase === "failed", "the refusal");
  assert.equal(refused.problem, "pairing_mismatch");
  assert.equal(refused.pairing, "mismatch");
  assert.match(refused.reason ?? "", /not sealed with this link's secret/);
  assert.equal(refused.files.length, 0, "no file list shown");
  const sender = await transfer.senderViews.until(
    (view) => view.phase === "canceled",
    "the sender told",
  );
  assert.match(sender.reason ?? "", /Verification failed/);
  assert.equal(world.channels.length, 0, "no connection was made");
});

Deno.test("a DTLS endpoint in between (other certificates than the paired pages saw) stops the transfer before any byte", async () => {
  for (const via of ["link", "code"] as const) {
    const world = new FakeShareWorld();
    world.dtlsInBetween = true;
    const { transfer, receiver, views } = await pairedTransfer(world, [
      randomFile("a.bin", 200_000),
    ], via);
    await using _ = transfer;
    await views.until((view) => view.files.length === 1, "the sealed file list");
    receiver.accept();
    const refused = await views.until((view) => view.phase === "failed", `the refusal (${via})`);
    assert.equal(refused.pairing, "mismatch");
    assert.ok(
      refused.files.every((file) => file.status === "waiting" && !file.url),
      "nothing written",
    );
    const sender = await transfer.senderViews.until(
      (view) => view.phase === "failed" || view.phase === "canceled",
      "the sender stopped",
    );
    assert.ok(sender.phase === "failed" || sender.phase === "canceled");
    // Only the confirmation went over the channel: no manifest, no bytes.
    assert.deepEqual(
      world.channels[0]?.sentLog.map((sent) => typeof sent === "string" && JSON.parse(sent).type),
      ["pairing-confirm"],
    );
  }
});

Deno.test("the relay fallback of a paired transfer sends links without a key; the receiver derives it", async () => {
  const world = new FakeShareWorld();
  world.peerMode = "fail";
  const file = randomFile("r.bin", 5000);
  const { transfer, receiver, views } = await pairedTransfer(world, [file], "link");
  await using _ = transfer;
  await views.until((view) => view.files.length === 1, "the sealed file list");
  receiver.accept();
  const received = await views.until(done, "the receiver done");
  const sent = await transfer.senderViews.until(done, "the sender done");
  assert.equal(received.route, "relay");
  assert.equal(received.files[0]?.sha256, await sha256Hex(file));
  const links = world.sent.flatMap(({ frame }) =>
    frame.type === "fallback-link" ? [frame.url] : []
  );
  assert.equal(links.length, 1);
  assert.ok(!new URL(links[0]!).hash.includes("k="), "no key in the link");
  assert.deepEqual(received.sas, sent.sas);
  assert.equal(received.sas?.length, 4);
  assert.equal(sent.pairing, "verified");
});

/** The messages sent over every in-memory data channel, by type. */
function channelMessages(world: FakeShareWorld): string[] {
  return world.channels.flatMap((channel) =>
    channel.sentLog.map((sent) => typeof sent === "string" ? JSON.parse(sent).type : "bytes")
  );
}

Deno.test("with a typed code nothing is sent before the sender confirms the words; then the file goes", async () => {
  const world = new FakeShareWorld();
  const file = randomFile("a.bin", 200_000);
  const { transfer, receiver, views } = await pairedTransfer(world, [file], "code", {
    confirmWords: false,
  });
  await using _ = transfer;
  await views.until((view) => view.files.length === 1, "the sealed file list");
  receiver.accept();
  const asking = await transfer.senderViews.until(
    (view) => view.awaitingWords === true,
    "the sender asks to compare the words",
  );
  const waiting = await views.until(
    (view) => view.awaitingWords === true && view.phase === "connected",
    "the receiver waits for the comparison",
  );
  assert.equal(asking.sas?.length, 4);
  assert.deepEqual(waiting.sas, asking.sas);
  await settle();
  assert.deepEqual(
    channelMessages(world).filter((type) => type !== "pairing-confirm"),
    [],
    "no file message before the words are confirmed",
  );
  transfer.sender.confirmWords();
  const received = await views.until(done, "the receiver done");
  await transfer.senderViews.until(done, "the sender done");
  assert.equal(received.files[0]?.sha256, await sha256Hex(file));
  assert.equal(received.awaitingWords, false);
});

Deno.test("with a typed code, 'They differ' stops both pages: nothing is sent or written", async () => {
  const world = new FakeShareWorld();
  const { transfer, receiver, views } = await pairedTransfer(
    world,
    [
      randomFile("a.bin", 200_000),
    ],
    "code",
    { confirmWords: false },
  );
  await using _ = transfer;
  await views.until((view) => view.files.length === 1, "the sealed file list");
  receiver.accept();
  await transfer.senderViews.until((view) => view.awaitingWords === true, "the words to compare");
  transfer.sender.wordsDiffer();
  assert.equal(transfer.senderViews.last.pairing, "mismatch");
  assert.equal(transfer.senderViews.last.awaitingWords, false);
  const stopped = await views.until((view) => view.phase === "canceled", "the receiver told");
  assert.match(stopped.reason ?? "", /Verification failed: the words on the two pages differ/);
  assert.ok(
    stopped.files.every((file) => file.status === "waiting" && !file.url),
    "nothing written",
  );
  assert.deepEqual(channelMessages(world).filter((type) => type !== "pairing-confirm"), []);
  transfer.sender.confirmWords();
  await settle();
  assert.deepEqual(channelMessages(world).filter((type) => type !== "pairing-confirm"), []);
});

Deno.test("with a typed code the relay fallback uploads nothing before the words are confirmed; both pages show the same words", async () => {
  const world = new FakeShareWorld();
  world.peerMode = "fail";
  const file = randomFile("r.bin", 5000);
  const { transfer, receiver, views } = await pairedTransfer(world, [file], "code", {
    confirmWords: false,
  });
  await using _ = transfer;
  await views.until((view) => view.files.length === 1, "the sealed file list");
  receiver.accept();
  const asking = await transfer.senderViews.until(
    (view) => view.awaitingWords === true && view.route === "relay",
    "the sender asks before uploading",
  );
  const waiting = await views.until((view) => view.awaitingWords === true, "the receiver waits");
  assert.deepEqual(waiting.sas, asking.sas);
  await settle();
  assert.equal(world.relay.size, 0, "nothing uploaded");
  transfer.sender.confirmWords();
  const received = await views.until(done, "the receiver done");
  assert.equal(received.route, "relay");
  assert.equal(received.files[0]?.sha256, await sha256Hex(file));
});
