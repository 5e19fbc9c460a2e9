import assert from "node:assert/strict";
import { type Broker, type EphemeralMessage, KvBroker, MemoryBroker, PublishError } from "./mod.ts";
import { openKv } from "../kv/mod.ts";

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

/**
 * Resolves once `listening`'s mailbox watch runs: a probe published by `other`
 * (another KV handle, so it can only arrive through the watch) has arrived.
 * Every listener of the topic on `listening` gets the probe too.
 */
async function watchRunning(listening: Broker, other: Broker, topic: string): Promise<void> {
  const probe = collect<{ probe?: string }>(listening, topic, 1);
  await other.publishEphemeral(topic, { probe: topic });
  const [arrived] = await probe.done;
  assert.deepEqual(arrived?.data, { probe: topic });
}

async function withKvPair(run: (first: Broker, second: Broker) => Promise<void>): Promise<void> {
  const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
  const kvA = await openKv(path);
  const kvB = await openKv(path);
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
      // Listening from here: the listener registers synchronously.
      const listener = collect<{ n: number }>(broker, "channel:e1", 2);
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
    // Each side gets the 40 messages and both probes.
    const onSecond = collect<{ from: string; n: number }>(second, "channel:x", 42);
    const onFirst = collect<{ from: string; n: number }>(first, "channel:x", 42);
    await watchRunning(second, first, "channel:x");
    await watchRunning(first, second, "channel:x");
    // Bursts from both sides: watches coalesce, the mailbox still carries every message.
    await Promise.all(
      Array.from({ length: 20 }, (_, n) => [
        first.publishEphemeral("channel:x", { from: "a", n }),
        second.publishEphemeral("channel:x", { from: "b", n }),
      ]).flat(),
    );
    for (const messages of [await onSecond.done, await onFirst.done]) {
      const seen = messages.filter((message) => message.data.from)
        .map((message) => `${message.data.from}${message.data.n}`).sort();
      assert.equal(seen.length, 40);
      assert.equal(new Set(seen).size, 40, "no message twice");
    }
    assert.deepEqual(await first.history("channel:x"), []);
  }));

Deno.test("KvBroker: a listener that starts later does not get messages from before", () =>
  withKvPair(async (first, second) => {
    await first.publishEphemeral("channel:late", { old: true });
    const listener = collect<object>(second, "channel:late", 2, 1500);
    // The watch's first read holds the old message, then the probe: only the probe is new.
    await watchRunning(second, first, "channel:late");
    await first.publishEphemeral("channel:late", { fresh: true });
    assert.deepEqual((await listener.done).map((message) => message.data), [
      { probe: "channel:late" },
      { fresh: true },
    ]);
  }));

Deno.test("KvBroker: a message published just before a listener starts (same millisecond) is not replayed to it", () =>
  withKvPair(async (broker, other) => {
    // The mailbox still holds the earlier message when the listener's watch starts; it
    // must not count as new even when it was published in the millisecond the listener began.
    for (let round = 0; round < 40; round++) {
      const topic = `channel:race-${round}`;
      await broker.publishEphemeral(topic, { early: true });
      const listener = collect<object>(broker, topic, 2);
      await watchRunning(broker, other, topic); // the watch read the mailbox: early, probe
      await broker.publishEphemeral(topic, { round });
      assert.deepEqual(
        (await listener.done).map((message) => message.data),
        [{ probe: topic }, { round }],
        `round ${round}`,
      );
    }
  }));
