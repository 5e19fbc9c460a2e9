import assert from "node:assert/strict";
import { createLogger } from "../log/mod.ts";
import { MetricsRegistry } from "../metrics/mod.ts";
import { MemoryBroker } from "../realtime/mod.ts";
import { TransferService } from "./service.ts";

Deno.test("TransferService counts sessions by state and stops every loop it started on dispose", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await using transfer = new TransferService({
      kv,
      broker: new MemoryBroker(),
      log: createLogger({ write: () => {} }),
      metrics: new MetricsRegistry(),
    }, {
      defaultTtlMs: 60_000,
      idleMs: 60_000,
      maxAgeMs: 3600_000,
      sweepIntervalMs: 10,
      ice: { stunUrls: [], turnUrls: [], ttlSeconds: 60, turnServiceUrl: "https://turn.invalid" },
    });
    const { record } = await transfer.store.create({ files: [] });
    await transfer.store.join(record.code);
    await transfer.store.create({ files: [] });
    const states = await transfer.countByState();
    assert.equal(states.created, 1);
    assert.equal(states.joined, 1);
    assert.equal(transfer.ice.source, "none");
    // Sweeps run every 10 ms meanwhile; the test's sanitizers fail if one outlives the dispose.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    kv.close();
  }
});
