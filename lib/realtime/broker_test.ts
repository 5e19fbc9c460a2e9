import assert from "node:assert/strict";
import { type Broker, KvBroker, MemoryBroker, PublishError, type TopicItem } from "./mod.ts";
import { countingCommits } from "../kv/testing.ts";
import { openKv } from "../kv/mod.ts";

/** Collects `count` items from a subscription. */
async function take<T>(
  iterable: AsyncIterable<TopicItem<T>>,
  count: number,
  controller: AbortController,
): Promise<TopicItem<T>[]> {
  const items: TopicItem<T>[] = [];
  const timer = setTimeout(() => controller.abort(), 10_000);
  for await (const item of iterable) {
    items.push(item);
    if (items.length >= count) break;
  }
  clearTimeout(timer);
  controller.abort();
  return items;
}

function offsets(items: TopicItem[]): number[] {
  return items.flatMap((item) => item.kind === "event" ? [item.event.offset] : []);
}

async function withKvPair(
  broadcastChannel: boolean,
  run: (first: Broker, second: Broker) => Promise<void>,
): Promise<void> {
  const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
  const kvA = await openKv(path);
  const kvB = await openKv(path);
  const channelName = `test-${crypto.randomUUID()}`;
  const first = new KvBroker(kvA, { broadcastChannel, channelName });
  const second = new KvBroker(kvB, { broadcastChannel, channelName });
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
      const broker = new KvBroker(kv, { channelName: `test-${crypto.randomUUID()}` });
      try {
        await run(broker);
      } finally {
        await broker[Symbol.asyncDispose]();
        kv.close();
      }
    }],
  ];

for (const [name, withBroker] of implementations) {
  Deno.test(`${name}: publish() gives gapless offsets in one epoch`, () =>
    withBroker(async (broker) => {
      const events = await Promise.all(
        Array.from({ length: 20 }, (_, index) => broker.publish("app:numbers", { index })),
      );
      assert.deepEqual(events.map((event) => event.offset).sort((a, b) => a - b), [
        ...Array.from({ length: 20 }, (_, index) => index + 1),
      ]);
      assert.equal(new Set(events.map((event) => event.epoch)).size, 1);
      const head = await broker.head("app:numbers");
      assert.deepEqual(head, { offset: 20, epoch: events[0]!.epoch });
    }));

  Deno.test(`${name}: subscribe({since}) replays then goes live without gap or duplicate`, () =>
    withBroker(async (broker) => {
      const first = await broker.publish("app:replay", "a");
      await broker.publish("app:replay", "b");
      const controller = new AbortController();
      const received = take(
        broker.subscribe("app:replay", {
          since: { offset: 1, epoch: first.epoch },
          signal: controller.signal,
        }),
        3,
        controller,
      );
      await broker.publish("app:replay", "c");
      await broker.publish("app:replay", "d");
      const items = await received;
      assert.deepEqual(offsets(items), [2, 3, 4]);
      assert.deepEqual(items.map((item) => item.kind === "event" && item.event.data), [
        "b",
        "c",
        "d",
      ]);
    }));

  Deno.test(`${name}: subscribe() without since gets only new events`, () =>
    withBroker(async (broker) => {
      await broker.publish("app:new", "old");
      const controller = new AbortController();
      const started = Promise.withResolvers<void>();
      const iterator = broker.subscribe<string>("app:new", {
        signal: controller.signal,
        onStart: () => started.resolve(),
      })[Symbol.asyncIterator]();
      const next = iterator.next();
      await started.promise; // "now" is fixed: what comes after is new
      await broker.publish("app:new", "fresh");
      const item = (await next).value as TopicItem<string>;
      controller.abort();
      assert.equal(item.kind === "event" && item.event.data, "fresh");
    }));

  Deno.test(`${name}: the same idempotency key publishes once`, () =>
    withBroker(async (broker) => {
      const first = await broker.publish("app:idem", { n: 1 }, { idempotencyKey: "k1" });
      const again = await broker.publish("app:idem", { n: 2 }, { idempotencyKey: "k1" });
      assert.equal(first.duplicate, false);
      assert.equal(again.duplicate, true);
      assert.equal(again.offset, first.offset);
      assert.deepEqual(again.data, { n: 1 });
      assert.equal((await broker.history("app:idem")).length, 1);
    }));

  Deno.test(`${name}: concurrent publishes with repeated idempotency keys store each key once`, () =>
    withBroker(async (broker) => {
      const results = await Promise.all([
        broker.publish("app:batch", "a", { idempotencyKey: "a" }),
        broker.publish("app:batch", "b", { idempotencyKey: "b" }),
        broker.publish("app:batch", "a again", { idempotencyKey: "a" }),
        broker.publish("app:batch", "plain"),
      ]);
      const log = await broker.history<string>("app:batch");
      assert.deepEqual(log.map((event) => event.data).sort(), ["a", "b", "plain"]);
      assert.deepEqual(log.map((event) => event.offset), [1, 2, 3]);
      assert.equal(results[2]!.duplicate, true);
      assert.equal(results[2]!.offset, results[0]!.offset);
      assert.equal(results[2]!.data, "a");
    }));

  Deno.test(`${name}: history() pages forwards and backwards`, () =>
    withBroker(async (broker) => {
      for (let index = 1; index <= 10; index++) await broker.publish("app:history", index);
      const page = await broker.history<number>("app:history", {
        before: 8,
        limit: 3,
        reverse: true,
      });
      assert.deepEqual(page.map((event) => event.data), [7, 6, 5]);
      const after = await broker.history<number>("app:history", { after: 8 });
      assert.deepEqual(after.map((event) => event.data), [9, 10]);
    }));
}

Deno.test("a resume from an offset that left retention gets too_far_behind, then the rest", async () => {
  const broker = new MemoryBroker({ retention: { app: { maxCount: 5 } } });
  let epoch = "";
  for (let index = 1; index <= 12; index++) {
    epoch = (await broker.publish("app:short", index)).epoch;
  }
  const controller = new AbortController();
  const items = await take(
    broker.subscribe("app:short", { since: { offset: 2, epoch }, signal: controller.signal }),
    6,
    controller,
  );
  assert.deepEqual(items[0], {
    kind: "reset",
    reason: "too_far_behind",
    from: { offset: 7, epoch },
  });
  assert.deepEqual(offsets(items), [8, 9, 10, 11, 12]);
});

Deno.test("KvBroker: a trimmed resume in KV is reported as too_far_behind too", async () => {
  const kv = await Deno.openKv(":memory:");
  const broker = new KvBroker(kv, {
    retention: { app: { maxCount: 3 } },
    channelName: `t-${crypto.randomUUID()}`,
  });
  try {
    let epoch = "";
    for (let index = 1; index <= 6; index++) {
      epoch = (await broker.publish("app:trim", index)).epoch;
    }
    const controller = new AbortController();
    const items = await take(
      broker.subscribe("app:trim", { since: { offset: 1, epoch }, signal: controller.signal }),
      4,
      controller,
    );
    assert.equal(items[0]!.kind, "reset");
    assert.deepEqual(offsets(items), [4, 5, 6]);
  } finally {
    await broker[Symbol.asyncDispose]();
    kv.close();
  }
});

Deno.test("a position from another epoch gets epoch_changed and the new log from its start", async () => {
  const broker = new MemoryBroker();
  const old = await broker.publish("app:epoch", "old");
  broker.resetTopic("app:epoch");
  const fresh = await broker.publish("app:epoch", "new");
  assert.notEqual(fresh.epoch, old.epoch);
  const controller = new AbortController();
  const items = await take(
    broker.subscribe("app:epoch", { since: old, signal: controller.signal }),
    2,
    controller,
  );
  assert.deepEqual(items[0], {
    kind: "reset",
    reason: "epoch_changed",
    from: { offset: 0, epoch: fresh.epoch },
  });
  assert.deepEqual(offsets(items), [1]);
});

for (const broadcastChannel of [true, false]) {
  Deno.test(
    `KvBroker across two KV handles (BroadcastChannel ${
      broadcastChannel ? "on" : "off"
    }): concurrent publishers, every subscriber sees the exact log`,
    () =>
      withKvPair(broadcastChannel, async (first, second) => {
        const total = 200;
        const controllers = [new AbortController(), new AbortController()];
        const seen = [first, second].map((broker, index) =>
          take(
            broker.subscribe("app:pair", {
              since: { offset: 0, epoch: "" },
              signal: controllers[index]!.signal,
            }),
            total,
            controllers[index]!,
          )
        );
        await Promise.all(Array.from({ length: 4 }, async (_, writer) => {
          const broker = writer % 2 ? first : second;
          for (let index = 0; index < total / 4; index++) {
            await broker.publish("app:pair", { writer, index });
          }
        }));
        const log = await first.history("app:pair", { limit: 1000 });
        assert.deepEqual(
          log.map((event) => event.offset),
          Array.from({ length: total }, (_, index) => index + 1),
        );
        for (const items of await Promise.all(seen)) {
          assert.deepEqual(offsets(items), log.map((event) => event.offset));
          assert.deepEqual(
            items.map((item) => item.kind === "event" ? item.event.data : null),
            log.map((event) => event.data),
          );
        }
      }),
  );
}

Deno.test("KvBroker: a head remembered from this handle's last commit is re-read when another handle moved it", () =>
  withKvPair(false, async (first, second) => {
    const published = [];
    // first, first (remembered head), second, first (stale: re-read), first, second …
    for (const [index, broker] of [first, first, second, first, first, second, first].entries()) {
      published.push(await broker.publish("app:alternating", { index }));
    }
    assert.deepEqual(published.map((event) => event.offset), [1, 2, 3, 4, 5, 6, 7]);
    const log = await second.history<{ index: number }>("app:alternating");
    assert.deepEqual(log.map((event) => event.data.index), [0, 1, 2, 3, 4, 5, 6]);
  }));

for (
  const [name, makeBroker] of [
    [
      "MemoryBroker",
      () => Promise.resolve(new MemoryBroker({ retention: { app: { maxCount: 3 } } })),
    ],
    ["KvBroker", async () =>
      new KvBroker(await Deno.openKv(":memory:"), {
        retention: { app: { maxCount: 3 } },
        channelName: `t-${crypto.randomUUID()}`,
      })],
  ] as const
) {
  Deno.test(`${name}: a resend after its event was trimmed from the log gets the first event back`, async () => {
    const broker: Broker & Partial<AsyncDisposable> = await makeBroker();
    try {
      const first = await broker.publish("app:resend", { text: "first" }, { idempotencyKey: "k1" });
      for (let index = 0; index < 5; index++) await broker.publish("app:resend", { index });
      const history = await broker.history("app:resend");
      assert.ok(
        history.every((event) => event.offset > first.offset),
        "the first event was trimmed",
      );
      const again = await broker.publish("app:resend", { text: "resent" }, {
        idempotencyKey: "k1",
      });
      assert.equal(again.duplicate, true);
      assert.equal(again.offset, first.offset);
      assert.deepEqual(again.data, { text: "first" });
      assert.equal((await broker.head("app:resend"))!.offset, 6, "nothing new stored");
    } finally {
      await broker[Symbol.asyncDispose]?.();
    }
  });
}

for (const [name, withBroker] of implementations) {
  Deno.test(`${name}: subscribeBatches hands over what is ready in one batch, then live events`, () =>
    withBroker(async (broker) => {
      for (let index = 1; index <= 10; index++) await broker.publish("app:batches", { index });
      const controller = new AbortController();
      const batches: number[][] = [];
      const firstBatch = Promise.withResolvers<void>();
      const done = (async () => {
        for await (
          const batch of broker.subscribeBatches("app:batches", {
            since: { offset: 0, epoch: "" },
            signal: controller.signal,
          })
        ) {
          batches.push(batch.flatMap((item) => item.kind === "event" ? [item.event.offset] : []));
          firstBatch.resolve();
          if (batches.flat().length === 11) controller.abort();
        }
      })();
      await firstBatch.promise;
      await broker.publish("app:batches", { index: 11 });
      await done;
      assert.deepEqual(batches, [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [11]]);
    }));
}

Deno.test("KvBroker: publishes to many topics at once share commits, each topic gapless", async () => {
  const kv = await Deno.openKv(":memory:");
  const counted = countingCommits(kv);
  const broker = new KvBroker(counted.kv, { channelName: `t-${crypto.randomUUID()}` });
  try {
    const topics = Array.from({ length: 40 }, (_, index) => `app:fan-${index}`);
    // Two events per topic, half of them with idempotency keys (two checks per topic).
    const published = await Promise.all(
      topics.flatMap((topic, index) =>
        [0, 1].map((round) =>
          broker.publish(topic, { round }, index % 2 ? { idempotencyKey: `k-${round}` } : {})
        )
      ),
    );
    assert.ok(counted.commits() < 20, `${counted.commits()} commits for 40 topics`);
    for (const topic of topics) {
      const log = await broker.history<{ round: number }>(topic);
      assert.deepEqual(log.map((event) => [event.offset, event.data.round]), [[1, 0], [2, 1]]);
    }
    assert.equal(new Set(published.map((event) => `${event.topic}#${event.offset}`)).size, 80);
    const again = await broker.publish(topics[1]!, { round: 9 }, { idempotencyKey: "k-0" });
    assert.deepEqual([again.duplicate, again.offset, again.data], [true, 1, { round: 0 }]);
  } finally {
    await broker[Symbol.asyncDispose]();
    kv.close();
  }
});

Deno.test("KvBroker: two handles publishing to the same many topics at once lose and repeat nothing", () =>
  withKvPair(false, async (first, second) => {
    const topics = Array.from({ length: 12 }, (_, index) => `app:shared-${index}`);
    const rounds = 5;
    // Each handle publishes a round to every topic at once, racing the other handle's commits.
    await Promise.all([first, second].map(async (broker, writer) => {
      for (let round = 0; round < rounds; round++) {
        await Promise.all(topics.map((topic) => broker.publish(topic, { writer, round })));
      }
    }));
    for (const topic of topics) {
      const log = await first.history<{ writer: number; round: number }>(topic);
      assert.deepEqual(
        log.map((event) => event.offset),
        Array.from({ length: 2 * rounds }, (_, index) => index + 1),
      );
      for (const writer of [0, 1]) {
        assert.deepEqual(
          log.filter((event) => event.data.writer === writer).map((event) => event.data.round),
          Array.from({ length: rounds }, (_, index) => index),
        );
      }
    }
  }));

for (const [name, withBroker] of implementations) {
  Deno.test(`${name}: a quota refuses the publish that would pass its events or bytes`, () =>
    withBroker(async (broker) => {
      const quota = { events: 3, bytes: 1000 };
      // Piled up together: the third fits, the fourth passes the event quota.
      const outcomes = await Promise.allSettled(
        [1, 2, 3, 4].map((index) => broker.publish("app:counted", { index }, { quota })),
      );
      assert.deepEqual(outcomes.map((outcome) => outcome.status), [
        "fulfilled",
        "fulfilled",
        "fulfilled",
        "rejected",
      ]);
      const refused = (outcomes[3] as PromiseRejectedResult).reason;
      assert.ok(refused instanceof PublishError);
      assert.equal(refused.code, "quota_exceeded");
      // Bytes: each event is ~510 bytes of JSON; the second passes 1,000.
      const big = { text: "x".repeat(500) };
      await broker.publish("app:weighed", big, { quota });
      await assert.rejects(
        broker.publish("app:weighed", big, { quota }),
        (error) => error instanceof PublishError && error.code === "quota_exceeded",
      );
      // A repeat of a stored event is no new storage: it is answered, not refused.
      const keyed = await broker.publish("app:keyed", 1, {
        quota: { events: 1, bytes: 100 },
        idempotencyKey: "k",
      });
      const again = await broker.publish("app:keyed", 1, {
        quota: { events: 1, bytes: 100 },
        idempotencyKey: "k",
      });
      assert.deepEqual([again.duplicate, again.offset], [true, keyed.offset]);
      assert.deepEqual(await broker.head("app:counted"), {
        offset: 3,
        epoch: (outcomes[0] as PromiseFulfilledResult<{ epoch: string }>).value.epoch,
      });
    }));
}

Deno.test("KvBroker: a quota holds across handles (the head carries the bytes)", () =>
  withKvPair(false, async (first, second) => {
    const quota = { events: 100, bytes: 2000 };
    const data = { text: "y".repeat(490) };
    await first.publish("app:shared-quota", data, { quota });
    await second.publish("app:shared-quota", data, { quota });
    await first.publish("app:shared-quota", data, { quota });
    await assert.rejects(
      second.publish("app:shared-quota", data, { quota }),
      (error) => error instanceof PublishError && error.code === "quota_exceeded",
    );
    assert.equal((await first.head("app:shared-quota"))?.offset, 3);
  }));
