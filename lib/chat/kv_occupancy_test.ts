import assert from "node:assert/strict";
import { FakeClock, waitFor } from "../clock/testing.ts";
import { KvOccupancy, MemoryOccupancy, type OccupancyLease } from "./mod.ts";
import { openKv } from "../kv/mod.ts";

Deno.test("MemoryOccupancy refuses past the limit and frees a place on release", async () => {
  await using occupancy = new MemoryOccupancy();
  const first = await occupancy.reserve("lobby", 2);
  assert.ok(await occupancy.reserve("lobby", 2));
  assert.equal(await occupancy.reserve("lobby", 2), null);
  await first!.release();
  await first!.release(); // twice is once
  assert.equal(await occupancy.count("lobby"), 1);
  assert.ok(await occupancy.reserve("lobby", 2));
});

Deno.test("KvOccupancy counts over isolates, never admits past the limit, and frees on release", async () => {
  const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
  const kvA = await openKv(path);
  const kvB = await openKv(path);
  const a = new KvOccupancy(kvA, { isolate: "a", ttlMs: 10_000 });
  const b = new KvOccupancy(kvB, { isolate: "b", ttlMs: 10_000 });
  try {
    // 20 concurrent attempts on two isolates for 5 places.
    const attempts = await Promise.all(
      Array.from({ length: 20 }, (_, index) => (index % 2 ? a : b).reserve("busy", 5)),
    );
    const admitted = attempts.filter((lease): lease is OccupancyLease => lease !== null);
    assert.ok(admitted.length <= 5, `admitted ${admitted.length}`);
    assert.ok(admitted.length >= 3, `admitted only ${admitted.length}`);
    assert.equal(await a.count("busy"), admitted.length);
    assert.equal(await b.count("busy"), admitted.length);
    for (const lease of admitted) await lease.release();
    assert.equal(await a.count("busy"), 0);
    // Sequential reserves fill exactly to the limit.
    const leases = [await a.reserve("seq", 2), await b.reserve("seq", 2)];
    assert.ok(leases.every(Boolean));
    assert.equal(await a.reserve("seq", 2), null);
    assert.equal(await b.reserve("seq", 2), null);
    await leases[1]!.release();
    assert.ok(await a.reserve("seq", 2), "a place freed on isolate b is usable on isolate a");
  } finally {
    await a[Symbol.asyncDispose]();
    await b[Symbol.asyncDispose]();
    kvA.close();
    kvB.close();
  }
});

Deno.test("KvOccupancy: the places of an isolate that died stop counting after the TTL", async () => {
  const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
  const kvA = await openKv(path);
  const kvB = await openKv(path);
  const clock = new FakeClock(); // one time for both isolates
  const ttlMs = 30_000;
  const survivor = new KvOccupancy(kvA, { isolate: "survivor", ttlMs, clock });
  const doomed = new KvOccupancy(kvB, { isolate: "doomed", ttlMs, clock });
  const start = clock.now();
  try {
    assert.ok(await survivor.reserve("room", 2));
    assert.ok(await doomed.reserve("room", 2));
    assert.equal(await survivor.reserve("room", 2), null);
    // The process dies: no release, no more refreshes.
    kvB.close();
    await doomed[Symbol.asyncDispose]();
    clock.tick(20_000); // the survivor refreshes every TTL/3
    assert.equal(await survivor.count("room"), 2, "still counted within the TTL");
    await waitFor(async () => {
      const entry = await kvA.get<{ expiresAt: number }>(["chat_occupancy", "room", "survivor"]);
      return entry.value!.expiresAt === start + 20_000 + ttlMs;
    }, { message: "the survivor's refresh is written" });
    clock.tick(15_000); // past the dead isolate's TTL
    assert.equal(await survivor.count("room"), 1, "the survivor refreshed its own place");
    assert.ok(await survivor.reserve("room", 2));
  } finally {
    await survivor[Symbol.asyncDispose]();
    kvA.close();
  }
});
