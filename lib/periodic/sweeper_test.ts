import assert from "node:assert/strict";
import { FakeClock } from "../clock/testing.ts";
import { startSweeper } from "./mod.ts";

Deno.test("startSweeper hands each sweep's report to onSweep and a failed sweep to onError", async () => {
  const clock = new FakeClock();
  const reports: number[] = [];
  const errors: unknown[] = [];
  let sweeps = 0;
  const store = {
    sweep: () => {
      sweeps += 1;
      return sweeps === 2 ? Promise.reject(new Error("KV gone")) : Promise.resolve(sweeps);
    },
  };
  await using _sweeper = startSweeper(store, {
    intervalMs: 1_000,
    onSweep: (report) => void reports.push(report),
    onError: (error) => errors.push(error),
    clock,
  });
  for (let run = 0; run < 3; run++) {
    const waited = await clock.nextTimer();
    assert.ok(waited >= 800 && waited <= 1_200, `a jittered interval, got ${waited}`);
  }
  await clock.timerSet(); // the third sweep ended: the fourth is scheduled
  assert.deepEqual(reports, [1, 3]);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /KV gone/);
});
