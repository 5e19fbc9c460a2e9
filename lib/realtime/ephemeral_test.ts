import assert from "node:assert/strict";
import { type Broker, type EphemeralMessage, KvBroker, MemoryBroker, PublishError } from "./mod.ts";

/** Reads from a listener until `count` messages arrived or `timeoutMs` passed. */
function collect<T>(
  broker: Broker,
  topic: string,
  count: number,
  timeoutMs = 5000,
): { done: Promise<EphemeralMessage<T>[]>; stop(): void } {
  const controller = new AbortController();
  const messages: EphemeralMessage<T>[] = [];
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const done = (async () => {
    for await (const message of broker.listenEphemeral<T>(topic, { signal: controller.signal })) {
      messages.push(message);
      if (messages.length >= count) break;
    }
    clearTimeout(timer);
    return messages;
  })();
  return {
    done,
    stop: () => {
      clearTimeout(timer);
      controller.abort();
    },
  };
}

const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

async function withKvPair(run: (first: Broker, second: Broker) => Promise<void>): Promise<void> {
  const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
  const kvA = await Deno.openKv(path);
  const kvB = await Deno.openKv(path);
  // No BroadcastChannel: ephemeral delivery must not depend on it.
  const first = new KvBroker(kvA, { broadcastChannel: false });
  const second = new KvBroker(kvB, { broadcastChannel: false });
  try {
    await run(first, second);
  } finally {
    await first[Symbol.asyncDispose]();
    await second[Symbol.asyncDispose]();
    kvA.close();
    kvB.close();
  }
}

const implementations: Array<[string, (run: (broker: Broker) => Promise<void>) => Promise<void>]> =
  [
    ["MemoryBroker", (run) => run(new MemoryBroker())],
    ["KvBroker", async (run) => {
      const kv = await Deno.openKv(":memory:");
      const broker = new KvBroker(kv, { broadcastChannel: false });
      try {
        await run(broker);
      } finally {
        await broker[Symbol.asyncDispose]();
        kv.close();
      }
    }],
  ];

for (const [name, withBroker] of implementations) {
  Deno.test(`${name}: publishEphemeral() reaches current listeners and is never stored`, () =>
    withBroker(async (broker) => {
      await broker.publishEphemeral("channel:e1", { early: true });
      const listener = collect<{ n: number }>(broker, "channel:e1", 2);
      await tick();
      const sent = await broker.publishEphemeral("channel:e1", { n: 1 });
      await broker.publishEphemeral("channel:e1", { n: 2 });
      const messages = await listener.done;
      assert.deepEqual(messages.map((message) => message.data), [{ n: 1 }, { n: 2 }]);
      assert.equal(messages[0]!.id, sent.id);
      assert.equal(messages[0]!.topic, "channel:e1");
      assert.deepEqual(await broker.history("channel:e1"), []);
      assert.equal(await broker.head("channel:e1"), null);
    }));

  Deno.test(`${name}: publishEphemeral() refuses big payloads and bad topic names`, () =>
    withBroker(async (broker) => {
      await assert.rejects(
        broker.publishEphemeral("channel:e2", { text: "x".repeat(2000) }),
        (error) => error instanceof PublishError && error.code === "event_too_large",
      );
      await assert.rejects(
        broker.publishEphemeral("no topic", {}),
        (error) => error instanceof PublishError && error.code === "invalid_topic",
      );
    }));
}

Deno.test("KvBroker: ephemeral messages cross KV handles without a BroadcastChannel, each once", () =>
  withKvPair(async (first, second) => {
    const onSecond = collect<{ from: string; n: number }>(second, "channel:x", 40);
    const onFirst = collect<{ from: string; n: number }>(first, "channel:x", 40);
    await tick(100); // both watches are running
    // Bursts from both sides: watches coalesce, the mailbox still carries every message.
    await Promise.all(
      Array.from({ length: 20 }, (_, n) => [
        first.publishEphemeral("channel:x", { from: "a", n }),
        second.publishEphemeral("channel:x", { from: "b", n }),
      ]).flat(),
    );
    for (const messages of [await onSecond.done, await onFirst.done]) {
      const seen = messages.map((message) => `${message.data.from}${message.data.n}`).sort();
      assert.equal(seen.length, 40);
      assert.equal(new Set(seen).size, 40, "no message twice");
    }
    assert.deepEqual(await first.history("channel:x"), []);
  }));

Deno.test("KvBroker: a listener that starts later does not get messages from before", () =>
  withKvPair(async (first, second) => {
    await first.publishEphemeral("channel:late", { old: true });
    await tick(50);
    const listener = collect<{ old?: boolean; fresh?: boolean }>(second, "channel:late", 1, 1500);
    await tick(200); // the watch starts and sees the mailbox holding the old message
    await first.publishEphemeral("channel:late", { fresh: true });
    assert.deepEqual((await listener.done).map((message) => message.data), [{ fresh: true }]);
  }));

Deno.test("KvBroker: a message published just before a listener starts (same millisecond) is not replayed to it", async () => {
  const kv = await Deno.openKv(":memory:");
  const broker = new KvBroker(kv, { broadcastChannel: false });
  try {
    // The mailbox still holds the earlier message when the listener's watch starts; it
    // must not count as new even when it was published in the millisecond the listener began.
    for (let round = 0; round < 40; round++) {
      const topic = `channel:race-${round}`;
      await broker.publishEphemeral(topic, { early: true });
      const listener = collect<{ round?: number; early?: boolean }>(broker, topic, 1);
      await tick();
      await broker.publishEphemeral(topic, { round });
      const [first] = await listener.done;
      assert.deepEqual(first?.data, { round }, `round ${round}`);
    }
  } finally {
    await broker[Symbol.asyncDispose]();
    kv.close();
  }
});
