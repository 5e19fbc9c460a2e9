import assert from "node:assert/strict";
import { type KindBudget, StorageBudget, type StorageKind } from "./mod.ts";
import { openKv } from "../kv/mod.ts";

const HOUR = 3600_000;

function budgets(bytes: number): Record<StorageKind, KindBudget> {
  return {
    signaling: { bytes, windowMs: 24 * HOUR, bucketMs: HOUR },
    uploads: { bytes, windowMs: 24 * HOUR, bucketMs: HOUR },
    chat: { bytes, windowMs: 24 * HOUR, bucketMs: HOUR },
  };
}

Deno.test("a kind's budget refuses what would pass it; other kinds are counted apart", async () => {
  await using kv = await Deno.openKv(":memory:");
  await using budget = new StorageBudget(kv, { isolate: "a", budgets: budgets(1000), syncMs: 0 });
  assert.ok(budget.allows("signaling", 1000));
  budget.add("signaling", 600);
  assert.ok(budget.allows("signaling", 400));
  assert.ok(!budget.allows("signaling", 401));
  assert.ok(budget.allows("uploads", 1000));
  assert.equal(budget.used("signaling"), 600);
  // A refund (an upload that failed and was removed) gives the room back.
  budget.add("signaling", -600);
  assert.ok(budget.allows("signaling", 1000));
});

Deno.test("bytes leave the budget when their window has passed (injected clock)", async () => {
  await using kv = await Deno.openKv(":memory:");
  let now = Date.UTC(2026, 0, 1);
  await using budget = new StorageBudget(kv, {
    isolate: "a",
    budgets: budgets(1000),
    syncMs: 0,
    now: () => now,
  });
  budget.add("chat", 900);
  now += 12 * HOUR;
  budget.add("chat", 100);
  assert.ok(!budget.allows("chat", 1));
  now += 12 * HOUR + 1;
  assert.equal(budget.used("chat"), 100);
  assert.ok(budget.allows("chat", 900));
});

Deno.test("isolates see each other's bytes after a sync, and a restart keeps what was written", async () => {
  const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
  const kvA = await openKv(path);
  const kvB = await openKv(path);
  const a = new StorageBudget(kvA, { isolate: "a", budgets: budgets(1000), syncMs: 0 });
  const b = new StorageBudget(kvB, { isolate: "b", budgets: budgets(1000), syncMs: 0 });
  try {
    a.add("uploads", 700);
    await a.sync();
    assert.ok(b.allows("uploads", 300));
    await b.sync();
    assert.equal(b.used("uploads"), 700);
    assert.ok(!b.allows("uploads", 301));
    b.add("uploads", 200);
    await b[Symbol.asyncDispose](); // writes its bytes on the way out
    await a.sync();
    assert.equal(a.used("uploads"), 900);
    // A new isolate (after a restart) starts with everything still in the window.
    await using c = new StorageBudget(kvB, { isolate: "c", budgets: budgets(1000), syncMs: 0 });
    await c.sync();
    assert.equal(c.used("uploads"), 900);
  } finally {
    await a[Symbol.asyncDispose]();
    kvA.close();
    kvB.close();
  }
});
