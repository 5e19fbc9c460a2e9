/**
 * Sequential KV round trips on each hot path, counted (deterministically, by
 * holding every KV operation until the previous level answered) in-process over
 * a real in-memory KV. docs/protocol.md lists the same numbers; on Deno Deploy
 * each strong round trip costs 7–194 ms, so these are the latencies that matter.
 */
import assert from "node:assert/strict";
import { roundTripCounter } from "../lib/kv/testing.ts";
import { KvBroker } from "../lib/realtime/mod.ts";
import { KvPresence } from "../lib/presence/mod.ts";
import { ChatService } from "../lib/chat/mod.ts";
import { NotificationCenter } from "../lib/notifications/mod.ts";

async function world() {
  const raw = await Deno.openKv(":memory:");
  const counter = roundTripCounter(raw);
  const broker = new KvBroker(counter.kv, { channelName: `rt-${crypto.randomUUID()}` });
  const presence = new KvPresence(counter.kv, broker);
  return {
    counter,
    broker,
    presence,
    async [Symbol.asyncDispose]() {
      await presence[Symbol.asyncDispose]();
      await broker[Symbol.asyncDispose]();
      raw.close();
    },
  };
}

Deno.test("chat: a message reaches a connected subscriber after one KV round trip", async () => {
  await using w = await world();
  const service = new ChatService({ broker: w.broker, presence: w.presence });
  const author = { userId: "ada", username: "Ada" };
  // A subscriber on this isolate: its feed read the channel's head once.
  const controller = new AbortController();
  const received: string[] = [];
  const delivered = Promise.withResolvers<void>();
  const subscribed = (async () => {
    for await (
      const item of w.broker.subscribe<{ content: string }>("channel:lobby", {
        signal: controller.signal,
      })
    ) {
      if (item.kind === "event") received.push(item.event.data.content);
      delivered.resolve();
    }
  })();
  await w.broker.head("channel:lobby");
  const { roundTrips } = await w.counter.count(async () => {
    await service.send("lobby", author, { content: "hello", clientMessageId: "c1" });
    await delivered.promise;
  });
  assert.equal(roundTrips, 1);
  assert.deepEqual(received, ["hello"]);
  controller.abort();
  await subscribed;
  service[Symbol.dispose]();
});

Deno.test("chat: what a connection's initial_state needs is read in one round trip (plus eventual reads)", async () => {
  await using w = await world();
  const service = new ChatService({ broker: w.broker, presence: w.presence });
  await service.send("lobby", { userId: "ada", username: "Ada" }, { content: "before" });
  const { value, roundTrips } = await w.counter.count(() => service.prepareJoin("lobby"));
  assert.equal(roundTrips, 1);
  assert.deepEqual(value.latest?.messages.map((message) => message.content), ["before"]);
  service[Symbol.dispose]();
});

Deno.test("notifications: an ack is two round trips, a read of one notification three", async () => {
  await using w = await world();
  await using center = new NotificationCenter({
    kv: w.counter.kv,
    broker: w.broker,
    config: {},
  }, { sweep: false, trimChance: 0 });
  const [published] = await center.publish({
    userIds: ["ada"],
    type: "success",
    data: { message: "hi" },
    requiresAck: true,
  });
  const ack = await w.counter.count(() => center.acknowledge("ada", published!.id));
  assert.equal(ack.roundTrips, 2, "find the record, then commit the change");
  const read = await w.counter.count(() => center.markRead("ada", [published!.id]));
  assert.deepEqual(read.value, { ids: [published!.id], unreadCount: 0 });
  assert.equal(read.roundTrips, 3, "find and commit (the unread listed meanwhile), then publish");
});

Deno.test("a notification stream's first subscription starts after one round trip", async () => {
  await using w = await world();
  const started = Promise.withResolvers<unknown>();
  const controller = new AbortController();
  const { roundTrips } = await w.counter.count(async () => {
    const subscription = w.broker.subscribeBatches("user:ada", {
      signal: controller.signal,
      onStart: (start) => started.resolve(start),
    });
    const iterator = subscription[Symbol.asyncIterator]();
    const next = iterator.next();
    await started.promise;
    controller.abort();
    await next;
  });
  assert.equal(roundTrips, 1);
  assert.deepEqual(await started.promise, { from: { offset: 0, epoch: "" }, head: null });
});
