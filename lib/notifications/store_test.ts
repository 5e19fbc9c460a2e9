import assert from "node:assert/strict";
import { type CreateInput, newSeq, NotificationStore } from "./store.ts";
import type { NotificationRecord } from "./record.ts";
import { roundTripCounter } from "../kv/testing.ts";
import { waitFor } from "../clock/testing.ts";

async function withStore(
  fn: (store: NotificationStore, kv: Deno.Kv) => Promise<void>,
  options: { maxHistory?: number } = {},
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new NotificationStore(kv, options), kv);
  } finally {
    kv.close();
  }
}

const message = (text: string) => ({ message: text });

/** Commits prepared writes as the topic log does (the shared audit-log row included). */
async function commitWrites(
  kv: Deno.Kv,
  userId: string,
  writes: ReturnType<NotificationStore["prepare"]>["writes"],
): Promise<void> {
  const operation = kv.atomic();
  writes.write(operation, { topic: `user:${userId}`, offset: 1, epoch: "e", time: 0, data: null });
  if (writes.collect) {
    // One row per commit, as the topic log writes it (recipients of one seq can span commits).
    operation.set([...writes.collect.key, crypto.randomUUID()], [writes.collect.item]);
  }
  assert.ok((await operation.commit()).ok);
}

/** Stores a notification as the center does, without a topic: its prepared writes, committed. */
async function create(
  store: NotificationStore,
  kv: Deno.Kv,
  input: Omit<CreateInput, "seq"> & { seq?: string },
): Promise<{ record: NotificationRecord }> {
  const { record, writes } = store.prepare({ ...input, seq: input.seq ?? newSeq() });
  await commitWrites(kv, input.userId, writes);
  return { record };
}

Deno.test("prepare() writes the record and its indexes per user; preferencesOf() reads many users at once", async () => {
  await withStore(async (store, kv) => {
    const { writes } = store.prepare({
      userId: "ada",
      id: "n1",
      seq: newSeq(),
      type: "success",
      data: message("a"),
      requiresAck: true,
      retry: { owner: "o", firstAt: Date.now() + 1000, leaseUntil: Date.now() + 2000 },
    });
    await commitWrites(kv, "ada", writes);
    let mutations = 0;
    for await (const _ of kv.list({ prefix: ["notify"] })) mutations += 1;
    assert.equal(mutations, writes.mutations, "the announced mutation count is exact");
    await create(store, kv, {
      userId: "bob",
      id: "n1",
      type: "success",
      data: message("b"),
      requiresAck: false,
    });
    assert.equal((await store.history("ada")).items.length, 1);
    assert.equal((await store.history("bob")).items[0]!.data.message, "b", "ids are per user");
    await store.setPreferences("bob", { muted: ["error"], mutedGroups: [] });
    const preferences = await store.preferencesOf(["ada", "bob", "cy"]);
    assert.deepEqual([...preferences.keys()], ["bob"]);
    assert.deepEqual(preferences.get("bob")!.muted, ["error"]);
  });
});

Deno.test("history() pages newest first; read state and the unread count follow markRead", async () => {
  await withStore(async (store, kv) => {
    for (let index = 1; index <= 7; index++) {
      await create(store, kv, {
        userId: "ada",
        id: `n${index}`,
        type: "success",
        data: message(String(index)),
        requiresAck: false,
      });
    }
    const first = await store.history("ada", { limit: 3 });
    assert.deepEqual(first.items.map((item) => item.id), ["n7", "n6", "n5"]);
    assert.equal(first.nextBefore, "n5");
    const second = await store.history("ada", { limit: 3, before: first.nextBefore! });
    assert.deepEqual(second.items.map((item) => item.id), ["n4", "n3", "n2"]);
    const last = await store.history("ada", { limit: 3, before: second.nextBefore! });
    assert.deepEqual(last.items.map((item) => item.id), ["n1"]);
    assert.equal(last.nextBefore, null);
    await assert.rejects(() => store.history("ada", { before: "nope" }), /no such notification/);

    assert.equal(await store.unreadCount("ada"), 7);
    assert.deepEqual(await store.markRead("ada", ["n2", "n3", "missing"]), ["n2", "n3"]);
    assert.deepEqual(await store.markRead("ada", ["n2"]), [], "reading twice changes nothing");
    assert.equal(await store.unreadCount("ada"), 5);
    const page = await store.history("ada", { limit: 10 });
    assert.deepEqual(page.items.filter((item) => item.read).map((item) => item.id), ["n3", "n2"]);
    assert.ok(page.items.find((item) => item.id === "n2")!.readAt);
    assert.equal((await store.markAllRead("ada")).length, 5);
    assert.equal(await store.unreadCount("ada"), 0);
  });
});

Deno.test("muted notifications are stored with status muted and not indexed as waiting for an ack", async () => {
  await withStore(async (store, kv) => {
    const muted = await create(store, kv, {
      userId: "ada",
      id: "m1",
      type: "error",
      data: message("x"),
      requiresAck: true,
      muted: true,
    });
    assert.equal(muted.record.status, "muted");
    assert.equal(muted.record.sentAt, null);
    const group = await create(store, kv, {
      userId: "ada",
      id: "m2",
      type: "group.member.joined",
      data: { groupId: "g1", groupName: "G", member: { userId: "x" } },
      requiresAck: false,
      muted: true,
    });
    assert.equal(group.record.status, "muted");
    const loud = await create(store, kv, {
      userId: "ada",
      id: "l1",
      type: "success",
      data: message("y"),
      requiresAck: true,
    });
    assert.equal(loud.record.status, "pending");
    assert.deepEqual((await store.unacknowledged("ada")).map((record) => record.id), ["l1"]);
  });
});

Deno.test("acknowledge() and markDelivered() move the status; the log filters by user, type, status", async () => {
  await withStore(async (store, kv) => {
    const { record: first } = await create(store, kv, {
      userId: "ada",
      id: "a",
      type: "success",
      data: message("1"),
      requiresAck: true,
    });
    await create(store, kv, {
      userId: "ada",
      id: "b",
      type: "error",
      data: message("2"),
      requiresAck: false,
    });
    await create(store, kv, {
      userId: "bob",
      id: "c",
      type: "success",
      data: message("3"),
      requiresAck: false,
    });
    await store.markDelivered("ada", first.seq);
    assert.equal((await store.get("ada", "a"))?.status, "delivered");
    const acked = await store.acknowledge("ada", "a");
    assert.equal(acked?.changed, true);
    assert.equal(acked?.record.status, "acknowledged");
    assert.ok(acked?.record.acknowledgedAt);
    assert.equal((await store.acknowledge("ada", "a"))?.changed, false);
    assert.equal(await store.acknowledge("ada", "zzz"), null);
    assert.deepEqual(await store.unacknowledged("ada"), []);

    const all = await store.log();
    assert.deepEqual(all.entries.map((record) => record.id), ["c", "b", "a"]);
    assert.deepEqual((await store.log({ userId: "ada" })).entries.map((record) => record.id), [
      "b",
      "a",
    ]);
    assert.deepEqual(
      (await store.log({ status: "acknowledged" })).entries.map((record) => record.id),
      ["a"],
    );
    assert.deepEqual((await store.log({ type: "success", userId: "bob" })).entries.length, 1);
    const paged = await store.log({ limit: 2 });
    assert.deepEqual(paged.entries.map((record) => record.id), ["c", "b"]);
    const rest = await store.log({ limit: 2, before: paged.nextBefore! });
    assert.deepEqual(rest.entries.map((record) => record.id), ["a"]);
    assert.equal(rest.nextBefore, null);
  });
});

Deno.test("trim() keeps the newest maxHistory notifications and their indexes", async () => {
  await withStore(async (store, kv) => {
    for (let index = 1; index <= 6; index++) {
      await create(store, kv, {
        userId: "ada",
        id: `n${index}`,
        type: "success",
        data: message(String(index)),
        requiresAck: index === 1,
      });
    }
    assert.equal(await store.trim("ada"), 2);
    assert.deepEqual((await store.history("ada")).items.map((item) => item.id), [
      "n6",
      "n5",
      "n4",
      "n3",
    ]);
    assert.equal(await store.get("ada", "n1"), null);
    assert.equal(await store.unreadCount("ada"), 4);
    assert.deepEqual(await store.unacknowledged("ada"), []);
    assert.equal((await store.log()).entries.length, 4);
  }, { maxHistory: 4 });
});

Deno.test("a retry lease is claimed by one driver at a time and only after it ran out", async () => {
  await withStore(async (store, kv) => {
    const now = Date.now();
    await create(store, kv, {
      userId: "ada",
      id: "r",
      type: "success",
      data: message("r"),
      requiresAck: true,
      now,
      retry: { owner: "one", firstAt: now + 100, leaseUntil: now + 200 },
    });
    assert.deepEqual((await store.due(now + 100)).map((due) => due.id), ["r"]);
    assert.equal(await store.claim("ada", "r", { owner: "two", expiresAt: now + 500 }, now), false);
    assert.equal(
      await store.claim("ada", "r", { owner: "two", expiresAt: now + 900 }, now + 300),
      true,
    );
    const lost = await store.recordRetry("ada", "r", {
      owner: "one",
      attempt: 1,
      now,
      nextAt: now + 1,
      leaseUntil: now + 2,
    });
    assert.equal(lost.outcome, "lost");
    const recorded = await store.recordRetry("ada", "r", {
      owner: "two",
      attempt: 1,
      now: now + 300,
      nextAt: now + 400,
      leaseUntil: now + 500,
    });
    assert.equal(recorded.outcome, "recorded");
    assert.deepEqual((await store.due(now + 1000)).map((due) => due.at), [now + 400]);
    await store.acknowledge("ada", "r");
    assert.deepEqual(await store.due(now + 1000), [], "an ack removes the due entry");
    assert.equal(await store.lease("ada", "r"), null);
  });
});

Deno.test("a re-send whose ack arrived before it was recorded still counts in retryCount", async () => {
  await withStore(async (store, kv) => {
    const now = Date.now();
    await create(store, kv, {
      userId: "ada",
      id: "raced",
      type: "success",
      data: message("raced"),
      requiresAck: true,
      now,
      retry: { owner: "one", firstAt: now + 100, leaseUntil: now + 200 },
    });
    // The driver sent re-send 1; the client acked it before the driver recorded it.
    await store.acknowledge("ada", "raced");
    const step = {
      owner: "one",
      attempt: 1,
      now: now + 100,
      nextAt: now + 200,
      leaseUntil: now + 300,
    };
    const late = await store.recordRetry("ada", "raced", step);
    assert.equal(late.outcome, "stopped");
    const record = await store.get("ada", "raced");
    assert.equal(record?.status, "acknowledged");
    assert.equal(record?.retryCount, 1);
    assert.equal(record?.lastRetryAt, new Date(now + 100).toISOString());
    assert.deepEqual(await store.due(now + 1000), [], "no retry is scheduled after the ack");
    await store.recordRetry("ada", "raced", step);
    assert.equal((await store.get("ada", "raced"))?.retryCount, 1, "the same re-send counts once");
  });
});

Deno.test("markDeliveredMany() records deliveries without reading, in one commit, and keeps acks", async () => {
  await withStore(async (store, kv) => {
    const seqs: Record<string, string> = {};
    for (const id of ["a", "b", "c"]) {
      const { record } = await create(store, kv, {
        userId: "ada",
        id,
        type: "success",
        data: message(id),
        requiresAck: true,
      });
      seqs[id] = record.seq;
    }
    await store.acknowledge("ada", "c");
    const counter = roundTripCounter(kv);
    const counting = new NotificationStore(counter.kv);
    const { roundTrips } = await counter.count(() =>
      counting.markDeliveredMany([
        { userId: "ada", seq: seqs.a! },
        { userId: "ada", seq: seqs.b! },
        { userId: "ada", seq: seqs.c! },
        { userId: "ada", seq: newSeq() },
      ], Date.parse("2020-01-01T00:00:00Z"))
    );
    assert.equal(roundTrips, 1);
    assert.equal((await store.get("ada", "a"))?.status, "delivered");
    assert.equal((await store.get("ada", "b"))?.deliveredAt, "2020-01-01T00:00:00.000Z");
    assert.equal((await store.get("ada", "c"))?.status, "acknowledged");
    assert.equal(await store.get("ada", "missing"), null);
    const log = await store.log({ userId: "ada", status: "delivered" });
    assert.deepEqual(log.entries.map((record) => record.id).sort(), ["a", "b"]);
  });
});

Deno.test("a new record is stored without its default fields and reads back whole; a muted one keeps sentAt null", async () => {
  await withStore(async (store, kv) => {
    const seq = newSeq();
    const { record } = await create(store, kv, {
      userId: "ada",
      id: seq,
      seq,
      type: "success",
      data: message("a"),
      requiresAck: false,
    });
    const raw = (await kv.get<Record<string, unknown>>(["notify", "n", "ada", seq])).value!;
    for (const field of ["read", "readAt", "deliveredAt", "acknowledged", "retryCount", "sentAt"]) {
      assert.ok(!(field in raw), `${field} is left out while at its default`);
    }
    assert.deepEqual(await store.get("ada", seq), record);
    assert.equal(record.sentAt, record.timestamp);

    const mutedSeq = newSeq();
    const { record: muted } = await create(store, kv, {
      userId: "ada",
      id: mutedSeq,
      seq: mutedSeq,
      type: "success",
      data: message("b"),
      requiresAck: false,
      muted: true,
    });
    assert.equal(muted.sentAt, null);
    assert.deepEqual(await store.get("ada", mutedSeq), muted);
    await store.markRead("ada", [seq]);
    const read = await store.get("ada", seq);
    assert.equal(read?.read, true);
    assert.equal(
      read?.sentAt,
      record.timestamp,
      "a changed record is stored whole and keeps sentAt",
    );
  });
});

Deno.test("a fan-out's delivery marks are a few shared rows; marks of older releases still count; the latest time wins", async () => {
  await withStore(async (store, kv) => {
    const seq = newSeq();
    const users = Array.from({ length: 1000 }, (_, index) => `user-${index}`);
    for (const userId of users.slice(0, 3)) {
      await create(store, kv, {
        userId,
        id: seq,
        seq,
        type: "success",
        data: message("fan-out"),
        requiresAck: false,
      });
    }
    await store.markDeliveredMany(
      users.map((userId) => ({ userId, seq })),
      Date.parse("2020-01-01T00:00:00Z"),
    );
    let rows = 0;
    for await (const _ of kv.list({ prefix: ["notify", "dby", seq] })) rows += 1;
    assert.ok(rows <= 16, `1,000 marks are at most one row per shard, got ${rows}`);
    assert.equal((await store.get("user-0", seq))?.deliveredAt, "2020-01-01T00:00:00.000Z");
    assert.equal((await store.get("user-1", seq))?.status, "delivered");

    // Delivered again later by another isolate: that time.
    await store.markDeliveredMany([{ userId: "user-0", seq }], Date.parse("2020-01-02T00:00:00Z"));
    assert.equal((await store.get("user-0", seq))?.deliveredAt, "2020-01-02T00:00:00.000Z");
    const history = await store.history("user-0");
    assert.equal(history.items[0]?.deliveredAt, "2020-01-02T00:00:00.000Z");

    // A mark as releases before shared rows wrote it (one key per user and notification).
    await kv.set(["notify", "delivered", "user-2", seq], "2020-01-03T00:00:00.000Z");
    assert.equal((await store.get("user-2", seq))?.deliveredAt, "2020-01-03T00:00:00.000Z");
    const log = await store.log({ status: "delivered" });
    assert.deepEqual(log.entries.map((record) => record.userId).sort(), [
      "user-0",
      "user-1",
      "user-2",
    ]);
  });
});

Deno.test("preferences for publishing: fresh for 2 s, then used while a background read renews them, read first after 10 s", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    let now = 1_000_000;
    const store = new NotificationStore(kv, { now: () => now });
    // Another instance's writes: straight to KV, this store hears nothing of them.
    const elsewhere = (muted: string[]) =>
      kv.set(["notify", "preferences", "ada"], { muted, mutedGroups: [] });
    await elsewhere(["error"]);
    const mutedNow = async () => (await store.preferencesOf(["ada"])).get("ada")?.muted ?? [];
    assert.deepEqual(await mutedNow(), ["error"], "a first publish reads them");

    await elsewhere(["warning"]);
    now += 1_000;
    assert.deepEqual(await mutedNow(), ["error"], "fresh for 2 s: no read");

    now += 2_000;
    assert.deepEqual(await mutedNow(), ["error"], "stale: used at once, renewed behind");
    const renewed = await waitFor(async () => {
      const muted = await mutedNow();
      return muted[0] === "warning" ? muted : null;
    });
    assert.deepEqual(renewed, ["warning"], "the background read brought the change");

    await elsewhere(["success"]);
    now += 11_000;
    assert.deepEqual(await mutedNow(), ["success"], "older than 10 s: read before the publish");

    // A change through this store is seen at once, and a renewal under way cannot undo it.
    now += 3_000;
    const stale = store.preferencesOf(["ada"]);
    await store.setPreferences("ada", { muted: ["info"], mutedGroups: [] });
    await stale;
    await waitFor(async () => (await store.preferencesOf(["ada"])).size === 1 || null);
    assert.deepEqual(await mutedNow(), ["info"]);
  } finally {
    kv.close();
  }
});
