import assert from "node:assert/strict";
import { countingCommits } from "../kv/testing.ts";
import { KvMetricsSharing } from "./kv_sharing.ts";
import { MetricsRegistry } from "./registry.ts";

Deno.test("collect() only reads KV, and still counts this isolate's latest values", async () => {
  const kv = await Deno.openKv(":memory:");
  const counted = countingCommits(kv);
  const registry = new MetricsRegistry();
  // A long interval: only the explicit flush below writes.
  const sharing = new KvMetricsSharing(counted.kv, registry, {
    isolate: "a",
    intervalMs: 3_600_000,
  });
  const other = new KvMetricsSharing(kv, new MetricsRegistry(), {
    isolate: "b",
    intervalMs: 3_600_000,
  });
  try {
    registry.increment("switchboard_uploads_total");
    await sharing.flush();
    await other.flush();
    const written = counted.writes();
    // Counted after the last flush: a scrape must see it without writing it.
    registry.increment("switchboard_uploads_total");
    for (let scrape = 0; scrape < 50; scrape++) {
      const total = await sharing.collect();
      assert.equal(total["switchboard_uploads_total"], 2);
      assert.equal(total["switchboard_isolates"], 2);
    }
    assert.equal((await sharing.reports()).length, 2);
    assert.equal(counted.writes(), written, "scrapes wrote to KV");
  } finally {
    await other[Symbol.asyncDispose]();
    await sharing[Symbol.asyncDispose]();
    kv.close();
  }
});

Deno.test("a failed report write goes to onError, and dispose waits for the write in progress", async () => {
  const kv = await Deno.openKv(":memory:");
  const failing = new Proxy(kv, {
    get(target, property) {
      if (property === "set") return () => Promise.reject(new Error("KV unavailable"));
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const errors: unknown[] = [];
  const sharing = new KvMetricsSharing(failing, new MetricsRegistry(), {
    isolate: "a",
    intervalMs: 10,
    onError: (error) => errors.push(error),
  });
  while (errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await sharing[Symbol.asyncDispose]();
  kv.close();
  assert.equal((errors[0] as Error).message, "KV unavailable");
});
