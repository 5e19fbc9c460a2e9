import assert from "node:assert/strict";
import { KvBroker, type TopicEvent } from "./mod.ts";
import { roundTripCounter } from "../kv/testing.ts";
import { withSimulatedLatency } from "../kv/latency.ts";

function channelName(): string {
  return `t-${crypto.randomUUID()}`;
}

Deno.test("KvBroker: a publish costs one KV round trip once the head is known, two before", async () => {
  await using raw = await Deno.openKv(":memory:");
  const counter = roundTripCounter(raw);
  await using broker = new KvBroker(counter.kv, { channelName: channelName() });
  const first = await counter.count(() => broker.publish("app:rt", { n: 1 }));
  assert.equal(first.roundTrips, 2, "read the head, then commit");
  const second = await counter.count(() => broker.publish("app:rt", { n: 2 }));
  assert.equal(second.roundTrips, 1, "the head this isolate wrote is checked, not read");
  const keyed = await counter.count(() =>
    broker.publish("app:rt", { n: 3 }, { idempotencyKey: "k3" })
  );
  assert.equal(keyed.roundTrips, 1, "an idempotency key is checked in the same commit");
  assert.deepEqual([first.value.offset, second.value.offset, keyed.value.offset], [1, 2, 3]);
  const repeat = await counter.count(() =>
    broker.publish("app:rt", { n: 99 }, { idempotencyKey: "k3" })
  );
  assert.equal(repeat.value.duplicate, true);
  assert.equal(repeat.value.offset, 3);
  assert.deepEqual(repeat.value.data, { n: 3 });
});

Deno.test("KvBroker: a head learned from another isolate's commit makes its next publish one round trip", async () => {
  await using raw = await Deno.openKv(":memory:");
  const counter = roundTripCounter(raw);
  const name = channelName();
  await using writer = new KvBroker(raw, { channelName: name });
  // No head watch: what `other` learns comes from the BroadcastChannel alone.
  await using other = new KvBroker(counter.kv, { channelName: name, watchHeads: false });
  const controller = new AbortController();
  const started = Promise.withResolvers<void>();
  const subscription = other.subscribe("app:learn", {
    signal: controller.signal,
    onStart: () => started.resolve(),
  })[Symbol.asyncIterator]();
  const delivered = subscription.next();
  await started.promise;
  await writer.publish("app:learn", { from: "writer" });
  // The BroadcastChannel message carries the head and its versionstamp; `other` learns the
  // head before it hands the message's event to its subscribers.
  await delivered;
  controller.abort();
  const next = await counter.count(() => other.publish("app:learn", { from: "other" }));
  assert.equal(next.roundTrips, 1);
  assert.equal(next.value.offset, 2);
});

Deno.test("KvBroker: extra writes land in the same commit as the event, and not for a repeat", async () => {
  await using raw = await Deno.openKv(":memory:");
  const counter = roundTripCounter(raw);
  await using broker = new KvBroker(counter.kv, { channelName: channelName() });
  await broker.publish("app:with", { warm: true });
  const writes = (label: string) => ({
    mutations: 1,
    bytes: 100,
    write(operation: Deno.AtomicOperation, event: TopicEvent) {
      operation.set(["side", label], event.offset);
    },
  });
  const stored = await counter.count(() =>
    broker.publish("app:with", { n: 1 }, { idempotencyKey: "a", writes: writes("a") })
  );
  assert.equal(stored.roundTrips, 1);
  assert.equal((await raw.get(["side", "a"])).value, stored.value.offset);
  const repeat = await broker.publish("app:with", { n: 1 }, {
    idempotencyKey: "a",
    writes: writes("again"),
  });
  assert.equal(repeat.duplicate, true);
  assert.equal((await raw.get(["side", "again"])).value, null, "a repeat writes nothing");
});

/** Counts commits in flight through `kv` and remembers the most at once. */
function commitsInFlight(
  kv: Deno.Kv,
): { kv: Deno.Kv; most: () => number; conflicts: () => number } {
  let now = 0;
  let most = 0;
  let conflicts = 0;
  const wrapped = new Proxy(kv, {
    get(target, property) {
      if (property === "atomic") {
        return () => {
          const operation = target.atomic();
          const commit = operation.commit.bind(operation);
          operation.commit = async () => {
            now += 1;
            most = Math.max(most, now);
            try {
              const result = await commit();
              if (!result.ok) conflicts += 1;
              return result;
            } finally {
              now -= 1;
            }
          };
          return operation;
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv: wrapped, most: () => most, conflicts: () => conflicts };
}

async function readLog(
  kv: Deno.Kv,
  topic: string,
): Promise<TopicEvent<{ writer: string; n: number }>[]> {
  const events: TopicEvent<{ writer: string; n: number }>[] = [];
  for await (
    const entry of kv.list<TopicEvent<{ writer: string; n: number }>>({
      prefix: ["topics", topic, "events"],
    })
  ) events.push(entry.value);
  return events;
}

Deno.test("KvBroker: a busy topic pipelines its commits over a slow KV, gapless and in order", async () => {
  await using raw = await Deno.openKv(":memory:");
  const watched = commitsInFlight(withSimulatedLatency(raw, { strongMs: 25, eventualMs: 5 }));
  await using broker = new KvBroker(watched.kv, { channelName: channelName(), pipelineDepth: 3 });
  const topic = "app:pipelined";
  // Idempotency keys are checks, at most 10 per commit: a burst of 60 needs several commits.
  const published = Array.from(
    { length: 60 },
    (_, n) => broker.publish(topic, { writer: "first", n }, { idempotencyKey: `k${n}` }),
  );
  const results = await Promise.all(published);
  assert.deepEqual(results.map((event) => event.offset), results.map((_, index) => index + 1));
  const events = await readLog(raw, topic);
  assert.deepEqual(events.map((event) => event.data.n), Array.from({ length: 60 }, (_, n) => n));
  assert.equal((await raw.get<{ offset: number }>(["topics", topic, "head"])).value?.offset, 60);
  assert.ok(watched.most() >= 2, `commits overlapped (most at once: ${watched.most()})`);
  let markers = 0;
  for await (const _ of raw.list({ prefix: ["topics", topic, "chain"] })) markers += 1;
  assert.ok(markers <= 1, `markers are deleted by the next commit (${markers} left)`);
});

Deno.test("KvBroker: two writers publishing to one topic over a slow KV store each event once, in each writer's order", async () => {
  await using raw = await Deno.openKv(":memory:");
  const slow = withSimulatedLatency(raw, { strongMs: 25, eventualMs: 5 });
  await using first = new KvBroker(slow, { channelName: channelName(), pipelineDepth: 3 });
  // The second writer has no BroadcastChannel: it learns nothing for free.
  await using second = new KvBroker(slow, { broadcastChannel: false, pipelineDepth: 3 });
  const topic = "app:two-writers";
  const published: Promise<unknown>[] = [];
  for (let n = 0; n < 60; n++) {
    published.push(first.publish(topic, { writer: "first", n }));
    if (n % 10 === 5) published.push(second.publish(topic, { writer: "second", n }));
    // The pacing is the scenario (publishes spread over commits in flight), not a wait.
    await new Promise((resolve) => setTimeout(resolve, 4));
  }
  await Promise.all(published);
  const events = await readLog(raw, topic);
  assert.equal(events.length, 66, "every publish stored once");
  assert.deepEqual(events.map((event) => event.offset), events.map((_, index) => index + 1));
  const firsts = events.filter((event) => event.data.writer === "first").map((e) => e.data.n);
  assert.deepEqual(firsts, Array.from({ length: 60 }, (_, n) => n), "one writer's order is kept");
  assert.equal((await raw.get<{ offset: number }>(["topics", topic, "head"])).value?.offset, 66);
});

Deno.test("KvBroker: when another writer takes an offset under a pipelined chain, the chain starts over without a gap", async () => {
  await using raw = await Deno.openKv(":memory:");
  const watched = commitsInFlight(withSimulatedLatency(raw, { strongMs: 20, eventualMs: 5 }));
  await using broker = new KvBroker(watched.kv, { channelName: channelName(), pipelineDepth: 3 });
  const topic = "app:stolen";
  await broker.publish(topic, { writer: "first", n: -1 });
  const published: Promise<unknown>[] = [];
  for (let n = 0; n < 30; n++) {
    published.push(broker.publish(topic, { writer: "first", n }));
    if (n === 10) {
      // A raw writer appends directly, as another instance would, while commits are in flight
      // (retrying, as any writer does, when one of them lands first).
      let landed = false;
      while (!landed) {
        const head = await raw.get<{ offset: number; epoch: string; time: number }>([
          "topics",
          topic,
          "head",
        ]);
        const offset = head.value!.offset + 1;
        const event = {
          topic,
          offset,
          epoch: head.value!.epoch,
          time: Date.now(),
          data: { writer: "raw", n: 0 },
        };
        const result = await raw.atomic().check(head)
          .set(["topics", topic, "events", offset], event)
          .set(["topics", topic, "head"], { offset, epoch: head.value!.epoch, time: event.time })
          .commit();
        landed = result.ok;
      }
    }
    // The pacing is the scenario (publishes spread over commits in flight), not a wait.
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  await Promise.all(published);
  const events = await readLog(raw, topic);
  assert.equal(events.length, 32);
  assert.deepEqual(events.map((event) => event.offset), events.map((_, index) => index + 1));
  const firsts = events.filter((event) => event.data.writer === "first").map((e) => e.data.n);
  assert.deepEqual(firsts, Array.from({ length: 31 }, (_, n) => n - 1));
  assert.ok(watched.conflicts() >= 1, "the chain in flight failed and started over");
});

/** A KV whose commits each take a random 0–`maxMs`, so commits in flight land in any order. */
function jittery(kv: Deno.Kv, maxMs: number): Deno.Kv {
  return new Proxy(kv, {
    get(target, property) {
      if (property === "atomic") {
        return () => {
          const operation = target.atomic();
          const commit = operation.commit.bind(operation);
          operation.commit = async () => {
            // The delay is the fault under test: commits land in any order.
            await new Promise((resolve) => setTimeout(resolve, Math.random() * maxMs));
            return await commit();
          };
          return operation;
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("KvBroker: pipelined commits that land out of order, from three writers on two topics, keep every log exact", async () => {
  await using raw = await Deno.openKv(":memory:");
  const name = channelName();
  const brokers = [
    new KvBroker(jittery(raw, 30), { channelName: name, pipelineDepth: 3 }),
    new KvBroker(jittery(raw, 30), { channelName: name, pipelineDepth: 3 }),
    new KvBroker(jittery(raw, 30), { broadcastChannel: false, pipelineDepth: 3 }),
  ];
  try {
    const topics = ["app:jitter-a", "app:jitter-b"];
    const published: Promise<unknown>[] = [];
    for (let n = 0; n < 40; n++) {
      brokers.forEach((broker, writer) => {
        for (const topic of topics) {
          published.push(broker.publish(topic, { writer: `w${writer}`, n }));
        }
      });
      // The pacing is the scenario (publishes spread over commits in flight), not a wait.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await Promise.all(published);
    for (const topic of topics) {
      const events = await readLog(raw, topic);
      assert.equal(events.length, 120, `${topic}: every publish stored once`);
      assert.deepEqual(events.map((event) => event.offset), events.map((_, index) => index + 1));
      for (const writer of ["w0", "w1", "w2"]) {
        const order = events.filter((event) => event.data.writer === writer).map((e) => e.data.n);
        assert.deepEqual(order, Array.from({ length: 40 }, (_, n) => n), `${topic} ${writer}`);
      }
    }
  } finally {
    for (const broker of brokers) await broker[Symbol.asyncDispose]();
  }
});
