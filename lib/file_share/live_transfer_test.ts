import assert from "node:assert/strict";
import { ApiClientError } from "../client/mod.ts";
import { FakeShareWorld } from "./_fake_services.ts";
import { snippetFile } from "./files.ts";
import { LiveReceiver, type ReceiverView, storageKey } from "./live_receiver.ts";
import { LiveSender, type SenderView } from "./live_sender.ts";
import type { Phase, TransferView } from "./view.ts";

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

/** A sender with `files` whose session exists, and a receiver for it that has not started. */
async function transfer(world: FakeShareWorld, files: File[], storage = memoryStorage()) {
  const senderViews = new Views<SenderView>();
  const receiverViews = new Views<ReceiverView>();
  const sender = new LiveSender({
    fallbackTimeoutMs: 60_000,
    maxUploadBytes: 64 * 1024 * 1024,
    downloadCheckMs: 1,
    services: world.services(),
    onChange: senderViews.onChange,
  });
  await sender.start(files);
  await senderViews.until((view) => view.code === world.code, "the code");
  const receiver = new LiveReceiver({
    code: world.code,
    storage,
    services: world.services(),
    onChange: receiverViews.onChange,
  });
  return { sender, receiver, senderViews, receiverViews, storage };
}

Deno.test("LiveSender and LiveReceiver move files directly: both go signaling → connecting → connected → transferring → done, every file verified", async () => {
  const world = new FakeShareWorld();
  const big = randomFile("big.bin", 2_500_000);
  const { sender, receiver, senderViews, receiverViews, storage } = await transfer(world, [
    snippetFile("the password is hunter2"),
    big,
  ]);
  try {
    await receiver.start();
    const review = await receiverViews.until(
      (view) => view.files.length === 2 && view.peer === "joined",
      "the files to review, with the sender online",
    );
    assert.equal(review.phase, "signaling");
    assert.equal(review.accepted, false);
    await senderViews.until((view) => view.peer === "joined", "the receiver joined");
    receiver.accept();
    const received = await receiverViews.until(done, "the receiver done");
    const sent = await senderViews.until(done, "the sender done");

    assert.deepEqual(senderViews.phases, [
      "signaling",
      "connecting",
      "connected",
      "transferring",
      "done",
    ]);
    assert.deepEqual(receiverViews.phases, [
      "signaling",
      "connecting",
      "connected",
      "transferring",
      "done",
    ]);
    assert.equal(sent.route, "direct");
    assert.deepEqual(sent.files.map((file) => file.status), ["verified", "verified"]);
    assert.deepEqual(received.files.map((file) => file.status), ["verified", "verified"]);
    assert.equal(received.files[0]?.text, "the password is hunter2");
    assert.equal(received.files[1]?.sha256, await sha256Hex(big));
    assert.equal(received.bytes, received.totalBytes);
    assert.deepEqual(world.sentTypes("joiner").slice(0, 2), ["ready", "answer"]);
    assert.deepEqual(world.sentTypes("creator").slice(0, 2), ["offer", "ice-candidate"]);
    // The candidate that came while the answer was prepared was kept for its connection.
    assert.deepEqual(world.peers[1]?.candidates, [{ candidate: "c-offer-1" }]);
    assert.equal(JSON.parse(storage.getItem(storageKey(world.code))!).finished, true);

    // The same tab again: nothing to join any more.
    const again = new Views<ReceiverView>();
    const reloaded = new LiveReceiver({
      code: world.code,
      storage,
      services: world.services(),
      onChange: again.onChange,
    });
    await reloaded.start();
    assert.equal(again.last.problem, "already_received");
  } finally {
    sender.dispose();
    receiver.dispose();
    await settle();
  }
});

Deno.test("a receiver that declines ends the sender's transfer as canceled by the peer", async () => {
  const world = new FakeShareWorld();
  const { sender, receiver, senderViews, receiverViews, storage } = await transfer(world, [
    randomFile("a.bin", 1000),
  ]);
  try {
    await receiver.start();
    await receiverViews.until((view) => view.files.length === 1, "the files to review");
    receiver.decline();
    assert.equal(receiverViews.last.phase, "canceled");
    assert.equal(receiverViews.last.canceledBy, "you");
    const canceled = await senderViews.until((view) => view.phase === "canceled", "canceled");
    assert.equal(canceled.canceledBy, "peer");
    assert.equal(canceled.reason, "Declined by the receiver");
    assert.equal(storage.getItem(storageKey(world.code)), null, "a reload does not rejoin");
    assert.equal(world.channels.length, 0, "no connection was made");
  } finally {
    sender.dispose();
    receiver.dispose();
    await settle();
  }
});

Deno.test("the sender's cancel reaches the receiver as canceled by the peer, with the sender's reason", async () => {
  const world = new FakeShareWorld();
  const { sender, receiver, senderViews, receiverViews } = await transfer(world, [
    randomFile("a.bin", 1000),
  ]);
  try {
    await receiver.start();
    await receiverViews.until((view) => view.files.length === 1, "the files to review");
    sender.cancel();
    assert.equal(senderViews.last.canceledBy, "you");
    const canceled = await receiverViews.until((view) => view.phase === "canceled", "canceled");
    assert.equal(canceled.canceledBy, "peer");
    assert.equal(canceled.reason, "Canceled by the sender");
  } finally {
    sender.dispose();
    receiver.dispose();
    await settle();
  }
});

Deno.test("when the browsers cannot connect, the sender uploads to the relay and the receiver downloads every file from it", async () => {
  const world = new FakeShareWorld();
  world.peerMode = "fail";
  const files = [randomFile("one.bin", 3000), randomFile("two.bin", 5000)];
  const { sender, receiver, senderViews, receiverViews } = await transfer(world, files);
  try {
    await receiver.start();
    await receiverViews.until((view) => view.files.length === 2, "the files to review");
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
  } finally {
    sender.dispose();
    receiver.dispose();
    await settle();
  }
});

Deno.test("a direct connection lost midway goes on through the relay, and both sides end done", async () => {
  const world = new FakeShareWorld();
  world.dropAfterChunks = 8;
  const big = randomFile("big.bin", 3_000_000);
  const { sender, receiver, senderViews, receiverViews } = await transfer(world, [big]);
  try {
    await receiver.start();
    await receiverViews.until((view) => view.files.length === 1, "the files to review");
    receiver.accept();
    await receiverViews.until(
      (view) => view.reason?.startsWith("The direct connection was lost") ?? false,
      "the receiver waiting for the relay",
    );
    const received = await receiverViews.until(done, "the receiver done");
    assert.equal(received.route, "relay");
    assert.equal(received.files[0]?.sha256, await sha256Hex(big));
    const sent = await senderViews.until(done, "the sender done");
    assert.equal(sent.relayReason, "The direct connection was lost");
    assert.deepEqual(senderViews.phases.slice(0, 4), [
      "signaling",
      "connecting",
      "connected",
      "transferring",
    ]);
  } finally {
    sender.dispose();
    receiver.dispose();
    await settle();
  }
});

Deno.test("a file larger than the relay's limit ends the session when the browsers cannot connect", async () => {
  const world = new FakeShareWorld();
  world.peerMode = "fail";
  const views = new Views<SenderView>();
  const receiverViews = new Views<ReceiverView>();
  const sender = new LiveSender({
    fallbackTimeoutMs: 60_000,
    maxUploadBytes: 1000,
    services: world.services(),
    onChange: views.onChange,
  });
  const receiver = new LiveReceiver({
    code: world.code,
    storage: memoryStorage(),
    services: world.services(),
    onChange: receiverViews.onChange,
  });
  try {
    await sender.start([randomFile("huge.bin", 5000)]);
    await receiver.start();
    await receiverViews.until((view) => view.files.length === 1, "the files to review");
    receiver.accept();
    const failed = await views.until((view) => view.phase === "failed", "the sender failed");
    assert.equal(failed.problem, "closed");
    assert.match(failed.reason ?? "", /"huge\.bin" is larger than the relay's limit of/);
    assert.equal(sender.retry(), false, "a closed session cannot be retried");
    const canceled = await receiverViews.until((view) => view.phase === "canceled", "canceled");
    assert.match(canceled.reason ?? "", /larger than the relay's limit/);
  } finally {
    sender.dispose();
    receiver.dispose();
    await settle();
  }
});

Deno.test("a join the server refuses shows its problem and the reason for people", async () => {
  for (
    const [error, problem, reason] of [
      [
        new ApiClientError(409, "session_already_joined", "Someone already joined"),
        "session_already_joined",
        "Someone already joined this transfer. Each code works only once.",
      ],
      [
        new ApiClientError(0, "network_error", "The server cannot be reached"),
        "network_error",
        "The server cannot be reached",
      ],
    ] as const
  ) {
    const world = new FakeShareWorld();
    world.joinError = error;
    const views = new Views<ReceiverView>();
    const receiver = new LiveReceiver({
      code: world.code,
      storage: memoryStorage(),
      services: world.services(),
      onChange: views.onChange,
    });
    await receiver.start();
    assert.equal(views.last.phase, "failed");
    assert.equal(views.last.problem, problem);
    assert.equal(views.last.reason, reason);
    receiver.dispose();
  }
});

Deno.test("signaling that keeps failing fails each side in a way retry() takes up again", async () => {
  const world = new FakeShareWorld();
  const { sender, receiver, senderViews, receiverViews } = await transfer(world, [
    randomFile("a.bin", 1000),
  ]);
  try {
    await receiver.start();
    await receiverViews.until((view) => view.files.length === 1, "the files to review");

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
  } finally {
    sender.dispose();
    receiver.dispose();
    await settle();
  }
});

Deno.test("a reloaded receiver rejoins from session storage without joining again and gets the files", async () => {
  const world = new FakeShareWorld();
  const file = randomFile("a.bin", 200_000);
  const { sender, receiver, senderViews, receiverViews, storage } = await transfer(world, [file]);
  let reloaded: LiveReceiver | null = null;
  try {
    await receiver.start();
    await receiverViews.until((view) => view.files.length === 1, "the files to review");
    receiver.accept();
    receiver.dispose(); // the tab reloads before the browsers connected
    const views = new Views<ReceiverView>();
    reloaded = new LiveReceiver({
      code: world.code,
      storage,
      services: world.services(),
      onChange: views.onChange,
    });
    await reloaded.start();
    assert.equal(views.last.accepted, true);
    assert.equal(views.last.phase, "connecting");
    const received = await views.until(done, "the reloaded receiver done");
    assert.equal(received.files[0]?.sha256, await sha256Hex(file));
    await senderViews.until(done, "the sender done");
    assert.equal(world.joins, 1, "joined once");
    assert.equal(world.sentTypes("joiner").filter((type) => type === "ready").length, 2);
  } finally {
    sender.dispose();
    receiver.dispose();
    reloaded?.dispose();
    await settle();
  }
});
