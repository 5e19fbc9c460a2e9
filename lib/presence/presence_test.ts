import assert from "node:assert/strict";
import { KvBroker, MemoryBroker } from "../realtime/mod.ts";
import { KvPresence, MemoryPresence, type PresenceEvent } from "./mod.ts";
import { waitFor } from "../clock/testing.ts";
import { openKv } from "../kv/mod.ts";

Deno.test("MemoryPresence: a second tab keeps a user online until the last one leaves", async () => {
  const broker = new MemoryBroker();
  const presence = new MemoryPresence(broker);
  const before = Date.now();
  const tabA = await presence.enter("lobby", { userId: "ada", name: "Ada", connectionId: "a" });
  const tabB = await presence.enter("lobby", { userId: "ada", name: "Ada", connectionId: "b" });
  const [member] = await presence.list("lobby");
  const { joinedAt, ...rest } = member!;
  assert.deepEqual(rest, {
    userId: "ada",
    name: "Ada",
    status: "online",
    connections: 2,
    connectionIds: ["a", "b"],
  });
  assert.ok(joinedAt >= before && joinedAt <= Date.now(), "joinedAt: when the first tab entered");
  await tabA.leave();
  assert.equal((await presence.list("lobby")).length, 1);
  await tabB.leave();
  assert.equal((await presence.list("lobby")).length, 0);
  const events = await broker.history<PresenceEvent>("presence:lobby");
  assert.deepEqual(events.map((event) => event.data.type), ["user_joined", "user_left"]);
});

Deno.test("KvPresence: join once, leave once, and entries of a vanished process expire", async () => {
  const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
  const kvA = await openKv(path);
  const kvB = await openKv(path);
  const brokerA = new KvBroker(kvA, { channelName: `p-${crypto.randomUUID()}` });
  const brokerB = new KvBroker(kvB, { channelName: `p-${crypto.randomUUID()}` });
  const survivor = new KvPresence(kvA, brokerA, { ttlMs: 600 });
  const doomed = new KvPresence(kvB, brokerB, { ttlMs: 600 });
  try {
    await survivor.enter("room", { userId: "ada", name: "Ada", connectionId: "a1" });
    await survivor.enter("room", { userId: "ada", name: "Ada", connectionId: "a2" });
    await doomed.enter("room", { userId: "bob", name: "Bob", connectionId: "b1" });
    assert.deepEqual((await survivor.list("room")).map((member) => member.userId), ["ada", "bob"]);
    // The "process" holding Bob stops heartbeating without saying goodbye.
    await doomed[Symbol.asyncDispose]().catch(() => {});
    await kvB.set(["presence", "room", "bob", "b1"], {
      userId: "bob",
      name: "Bob",
      status: "online",
      expiresAt: Date.now() - 1,
    });
    await waitFor(async () => (await survivor.list("room")).length === 1);
    assert.deepEqual((await survivor.list("room")).map((member) => member.userId), ["ada"]);
    const announced = async () =>
      (await brokerA.history<PresenceEvent>("presence:room"))
        .map((event) => `${event.data.type}:${event.data.userId}`);
    // The survivor's sweep (every TTL/2) announces the vanished user.
    await waitFor(async () => (await announced()).includes("user_left:bob"));
    assert.deepEqual(await announced(), [
      "user_joined:ada",
      "user_joined:bob",
      "user_left:bob",
    ]);
  } finally {
    await survivor[Symbol.asyncDispose]();
    await brokerA[Symbol.asyncDispose]();
    await brokerB[Symbol.asyncDispose]();
    kvA.close();
    kvB.close();
  }
});

Deno.test("presence status is the user's combined status: away only when every tab is away", async () => {
  const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
  const kv = await openKv(path);
  const broker = new KvBroker(kv, { channelName: `s-${crypto.randomUUID()}` });
  try {
    for (const presence of [new MemoryPresence(new MemoryBroker()), new KvPresence(kv, broker)]) {
      const scope = `status-${crypto.randomUUID()}`;
      const tabA = await presence.enter(scope, { userId: "ada", name: "Ada", connectionId: "a" });
      const tabB = await presence.enter(scope, { userId: "ada", name: "Ada", connectionId: "b" });
      await tabA.setStatus("away");
      await tabB.setStatus("away");
      await tabA.setStatus("online");
      const history = presence instanceof KvPresence
        ? await broker.history<PresenceEvent>(`presence:${scope}`)
        : [];
      if (presence instanceof KvPresence) {
        assert.deepEqual(
          history.filter((event) => event.data.type === "presence").map((event) =>
            (event.data as { status: string }).status
          ),
          ["online", "away", "online"],
        );
      }
      assert.equal((await presence.list(scope))[0]!.status, "online");
      await tabA.leave();
      await tabB.leave();
      await presence[Symbol.asyncDispose]();
    }
  } finally {
    await broker[Symbol.asyncDispose]();
    kv.close();
  }
});

Deno.test("KvPresence reports failed heartbeats to onError and awaits its loops on dispose", async () => {
  const kv = await Deno.openKv(":memory:");
  let failing = false;
  const flaky = new Proxy(kv, {
    get(target, property) {
      if (property === "atomic" && failing) throw new Error("KV unavailable");
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const broker = new MemoryBroker();
  const failures: string[] = [];
  const presence = new KvPresence(flaky, broker, {
    ttlMs: 60,
    onError: (_error, loop) => failures.push(loop),
  });
  try {
    await presence.enter("room", { userId: "ada", name: "Ada", connectionId: "a1" });
    failing = true;
    while (!failures.includes("presence_heartbeat")) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    failing = false;
    await presence[Symbol.asyncDispose]();
    kv.close();
  }
});
