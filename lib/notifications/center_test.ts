import assert from "node:assert/strict";
import { FakeClock, waitFor } from "../clock/testing.ts";
import { KvBroker, type TopicEvent } from "../realtime/mod.ts";
import { NotificationCenter, type NotificationDeps } from "./center.ts";
import { NotificationError } from "./errors.ts";
import { roundTripCounter } from "../kv/testing.ts";
import type { UserTopicPayload } from "./frames.ts";

const INTERVAL = 60;

interface World {
  kv: Deno.Kv;
  broker: KvBroker;
  deps(isolate: string): NotificationDeps;
}

async function withWorld(fn: (world: World) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const broker = new KvBroker(kv, { channelName: `center-${crypto.randomUUID()}` });
  try {
    await fn({
      kv,
      broker,
      deps: (isolate) => ({
        kv,
        broker,
        isolate,
        config: { NOTIFY_RETRY_INTERVAL_MS: INTERVAL, NOTIFY_MAX_RETRIES: 3 },
      }),
    });
  } finally {
    await broker[Symbol.asyncDispose]();
    kv.close();
  }
}

/** What a user's topic delivers so far (muted notifications are stored there but never sent). */
async function topicEvents(broker: KvBroker, userId: string): Promise<UserTopicPayload[]> {
  const events: TopicEvent<UserTopicPayload>[] = await broker.history(`user:${userId}`);
  return events.map((event) => event.data).filter((payload) => payload.kind !== "muted");
}

/** Resolves once `center.store.clearRetry()` ran: the driver saw that it has nothing left to do. */
function retryCleared(center: NotificationCenter): Promise<void> {
  const store = center.store;
  const clearRetry = store.clearRetry.bind(store);
  return new Promise((resolve) => {
    store.clearRetry = async (...args) => {
      await clearRetry(...args);
      resolve();
    };
  });
}

Deno.test("publish() stores, then publishes on user:<id>; the same id twice is one notification", async () => {
  await withWorld(async ({ broker, deps }) => {
    await using center = new NotificationCenter(deps("a"), { sweep: false });
    const [first] = await center.publish({
      userIds: ["ada"],
      type: "success",
      data: { message: "hi" },
      id: "job-1",
    });
    const [again] = await center.publish({
      userIds: ["ada"],
      type: "success",
      data: { message: "hi" },
      id: "job-1",
    });
    assert.deepEqual(first, { userId: "ada", id: "job-1", duplicate: false, muted: false });
    assert.equal(again?.duplicate, true);
    const events = await topicEvents(broker, "ada");
    assert.equal(events.length, 1);
    assert.equal(events[0]!.kind, "notification");
    assert.equal((await center.store.history("ada")).items.length, 1);

    const many = await center.publish({
      userIds: ["bob", "cy", "bob"],
      type: "error",
      data: { message: "down" },
    });
    assert.deepEqual(many.map((outcome) => outcome.userId), ["bob", "cy"]);
    // One publish has one id (its time-ordered seq), shared by its recipients like a chosen id.
    assert.equal(many[0]!.id, many[1]!.id);
    assert.match(many[0]!.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal((await topicEvents(broker, "ada")).length, 1, "other users' topics untouched");
  });
});

Deno.test("publish() refuses unknown types, bad data, oversized data and bad user ids", async () => {
  await withWorld(async ({ deps }) => {
    const base = deps("a");
    await using center = new NotificationCenter({
      ...base,
      config: { ...base.config, NOTIFY_MAX_DATA_BYTES: 200, NOTIFY_MAX_RECIPIENTS: 2 },
    }, { sweep: false });
    const code = async (request: Parameters<NotificationCenter["publish"]>[0]) => {
      try {
        await center.publish(request);
        return "published";
      } catch (error) {
        assert.ok(error instanceof NotificationError);
        return error.code;
      }
    };
    assert.equal(
      await code({ userIds: [], type: "success", data: { message: "x" } }),
      "invalid_user",
    );
    assert.equal(
      await code({ userIds: ["a b"], type: "success", data: { message: "x" } }),
      "invalid_user",
    );
    assert.equal(
      await code({ userIds: ["a", "b", "c"], type: "success", data: { message: "x" } }),
      "too_many_recipients",
    );
    assert.equal(await code({ userIds: ["a"], type: "nope", data: {} }), "unknown_type");
    assert.equal(
      await code({ userIds: ["a"], type: "success", data: { msg: "x" } }),
      "invalid_data",
    );
    assert.equal(
      await code({ userIds: ["a"], type: "success", data: { message: "x".repeat(300) } }),
      "data_too_large",
    );
    assert.equal(
      await code({ userIds: ["a"], type: "success", data: { message: "ok" } }),
      "published",
    );
  });
});

Deno.test("requiresAck without an ack: exactly 3 re-sends on the topic, then failed", async () => {
  await withWorld(async ({ broker, deps }) => {
    const clock = new FakeClock();
    await using center = new NotificationCenter(deps("a"), { sweep: false, clock });
    const [outcome] = await center.publish({
      userIds: ["ada"],
      type: "success",
      data: { message: "ack me" },
      requiresAck: true,
    });
    for (let step = 1; step <= 4; step++) {
      // Each step sets the next one's timer when it is done: three re-sends, then failed.
      assert.equal(await clock.nextTimer(), INTERVAL);
    }
    const failed = await waitFor(async () => {
      const record = await center.store.get("ada", outcome!.id);
      return record?.status === "failed" ? record : null;
    });
    assert.equal(failed.retryCount, 3);
    assert.equal(failed.lastRetryAt, new Date(clock.now() - INTERVAL).toISOString());
    assert.equal(clock.pending, 0, "nothing left to re-send");
    const retries = (await topicEvents(broker, "ada")).filter((event) => event.kind === "retry");
    assert.deepEqual(retries.map((event) => event.kind === "retry" && event.attempt), [1, 2, 3]);
    assert.equal(center.drivingRetries, 0);
  });
});

Deno.test("an ack recorded by another isolate stops the driver at its next check", async () => {
  await withWorld(async ({ broker, deps }) => {
    const clock = new FakeClock();
    await using driver = new NotificationCenter(deps("a"), { sweep: false, clock });
    await using other = new NotificationCenter(deps("b"), { sweep: false, clock });
    const [outcome] = await driver.publish({
      userIds: ["ada"],
      type: "success",
      data: { message: "ack me" },
      requiresAck: true,
    });
    await clock.nextTimer(); // re-send 1
    await clock.timerSet(); // …recorded, and re-send 2 scheduled
    const acked = await other.acknowledge("ada", outcome!.id);
    assert.equal(acked.status, "acknowledged");
    const cleared = retryCleared(driver);
    await clock.nextTimer(); // the driver's next check
    await cleared;
    assert.equal(clock.pending, 0, "no re-send scheduled after the ack");
    const retries = (await topicEvents(broker, "ada")).filter((event) => event.kind === "retry");
    assert.equal(retries.length, 1, "no re-send after the ack");
    const record = await driver.store.get("ada", outcome!.id);
    assert.equal(record?.status, "acknowledged");
    assert.equal(record?.retryCount, 1);
    await assert.rejects(() => other.acknowledge("ada", "missing"), /No notification/);
  });
});

Deno.test("when the driving isolate dies, another one's sweep takes over without repeating a re-send", async () => {
  await withWorld(async ({ broker, deps }) => {
    const clock = new FakeClock(); // one time for both isolates
    const first = new NotificationCenter(deps("a"), { sweep: false, clock });
    const [outcome] = await first.publish({
      userIds: ["ada"],
      type: "success",
      data: { message: "ack me" },
      requiresAck: true,
    });
    await clock.nextTimer(); // re-send 1
    await clock.timerSet(); // …recorded, and re-send 2 scheduled
    await first[Symbol.asyncDispose](); // the isolate is gone; its lease stays in KV
    assert.equal(clock.pending, 0);
    await using second = new NotificationCenter(deps("b"), { sweepMs: 25, clock });
    // The second isolate's sweeps, and the re-sends it drives once it took over.
    const failed = await waitFor(async () => {
      const record = await second.store.get("ada", outcome!.id);
      if (record?.status === "failed") return record;
      await clock.nextTimer();
      return null;
    });
    assert.equal(failed.retryCount, 3);
    const attempts = (await topicEvents(broker, "ada"))
      .flatMap((event) => event.kind === "retry" ? [event.attempt] : []);
    assert.deepEqual(attempts, [1, 2, 3]);
  });
});

Deno.test("muted types are kept in history but not pushed; unmuting pushes the next one", async () => {
  await withWorld(async ({ broker, deps }) => {
    await using center = new NotificationCenter(deps("a"), { sweep: false });
    await center.setPreferences("ada", { muted: ["file_uploaded"], mutedGroups: [] });
    await assert.rejects(
      () => center.setPreferences("ada", { muted: ["nope"], mutedGroups: [] }),
      /Unknown notification type/,
    );
    const data = { fileId: "f1", fileName: "a.pdf", size: 1 };
    const [muted] = await center.publish({ userIds: ["ada"], type: "file_uploaded", data });
    assert.equal(muted?.muted, true);
    assert.equal((await topicEvents(broker, "ada")).length, 0);
    assert.equal((await center.store.history("ada")).items[0]?.status, "muted");
    await center.setPreferences("ada", { muted: [], mutedGroups: [] });
    await center.publish({ userIds: ["ada"], type: "file_uploaded", data });
    assert.equal((await topicEvents(broker, "ada")).length, 1);
  });
});

Deno.test("markRead() publishes a read event with the new unread count", async () => {
  await withWorld(async ({ broker, deps }) => {
    await using center = new NotificationCenter(deps("a"), { sweep: false });
    const outcomes = [];
    for (let index = 0; index < 3; index++) {
      outcomes.push(
        ...await center.publish({
          userIds: ["ada"],
          type: "success",
          data: { message: `${index}` },
        }),
      );
    }
    const result = await center.markRead("ada", [outcomes[0]!.id]);
    assert.deepEqual(result, { ids: [outcomes[0]!.id], unreadCount: 2 });
    const all = await center.markRead("ada", "all");
    assert.equal(all.unreadCount, 0);
    assert.equal(all.ids.length, 2);
    const reads = (await topicEvents(broker, "ada")).filter((event) => event.kind === "read");
    assert.deepEqual(reads.map((event) => event.kind === "read" && event.unreadCount), [2, 0]);
    assert.deepEqual(reads.map((event) => event.kind === "read" && event.all), [false, true]);
  });
});

Deno.test("publish() costs one KV round trip (plus an eventual read of preferences not read in the last 2 s) to a user whose topic head is known, and two to 300 users whose heads are not", async () => {
  const raw = await Deno.openKv(":memory:");
  const counter = roundTripCounter(raw);
  // As many commits in flight as a slow (remote) KV gets; locally KvBroker measures that itself.
  const broker = new KvBroker(counter.kv, {
    channelName: `center-${crypto.randomUUID()}`,
    commitsInFlight: 100,
  });
  try {
    await using center = new NotificationCenter({
      kv: counter.kv,
      broker,
      isolate: "a",
      config: { NOTIFY_MAX_RECIPIENTS: 1000 },
    }, { sweep: false, trimChance: 0 });
    // A subscriber makes this isolate read (and then follow) the head of the user's topic.
    await broker.head("user:ada");
    const one = await counter.count(() =>
      center.publish({ userIds: ["ada"], type: "success", data: { message: "hi" } })
    );
    assert.deepEqual([one.roundTrips, one.eventualRoundTrips], [1, 1]);
    const users = Array.from({ length: 300 }, (_, index) => `u${index}`);
    const many = await counter.count(() =>
      center.publish({ userIds: users, type: "success", data: { message: "all" } })
    );
    assert.equal(many.value.length, 300);
    assert.deepEqual([many.roundTrips, many.eventualRoundTrips], [2, 1], "heads, then commits");
    const again = await counter.count(() =>
      center.publish({ userIds: users, type: "success", data: { message: "again" } })
    );
    // Preferences read a moment ago are reused: one round trip, nothing else.
    assert.deepEqual([again.roundTrips, again.eventualRoundTrips], [1, 0]);
    assert.equal((await center.store.history("u299")).items.length, 2);
  } finally {
    await broker[Symbol.asyncDispose]();
    raw.close();
  }
});
