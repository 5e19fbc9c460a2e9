import assert from "node:assert/strict";
import { FakeClock } from "../clock/testing.ts";
import { jittered, reportLoopFailures, runPeriodically } from "./mod.ts";

Deno.test("jittered waits stay within ±20 % of the interval", () => {
  for (let index = 0; index < 1000; index++) {
    const wait = jittered(100);
    assert.ok(wait >= 80 && wait <= 120, `${wait}`);
  }
});

Deno.test("runPeriodically runs again after a failure, never overlaps runs, and stops on abort", async () => {
  const clock = new FakeClock();
  const controller = new AbortController();
  const errors: unknown[] = [];
  const finishRun: (() => void)[] = [];
  let runs = 0;
  runPeriodically(async () => {
    runs += 1;
    await new Promise<void>((resolve) => finishRun.push(resolve));
    if (runs === 1) throw new Error("first run fails");
  }, {
    intervalMs: 100,
    firstDelayMs: 0,
    signal: controller.signal,
    onError: (error) => errors.push(error),
    clock,
  });
  assert.equal(await clock.nextTimer(), 0, "the first run after firstDelayMs");
  for (let run = 1; run <= 3; run++) {
    assert.equal(runs, run);
    assert.equal(clock.pending, 0, "the next run is scheduled only when this one ends");
    clock.tick(1_000);
    assert.equal(runs, run, "no overlapping run");
    finishRun.shift()!();
    const waited = await clock.nextTimer();
    assert.ok(waited >= 80 && waited <= 120, `a jittered interval, got ${waited}`);
  }
  assert.equal(runs, 4);
  finishRun.shift()!();
  await clock.timerSet();
  controller.abort();
  assert.equal(clock.pending, 0, "abort clears the timer");
  clock.tick(10_000);
  assert.equal(runs, 4, "no run after abort");
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as Error).message, "first run fails");
});

Deno.test("runPeriodically's async dispose waits for the run in progress", async () => {
  const clock = new FakeClock();
  let finished = false;
  let finishRun!: () => void;
  const periodic = runPeriodically(async () => {
    await new Promise<void>((resolve) => finishRun = resolve);
    finished = true;
  }, { intervalMs: 1000, firstDelayMs: 0, clock });
  await clock.nextTimer();
  const disposed = periodic[Symbol.asyncDispose]();
  finishRun();
  await disposed;
  assert.equal(finished, true);
});

Deno.test("reportLoopFailures logs <loop>_failed and counts the failure by loop", () => {
  const warnings: string[] = [];
  const counted: string[] = [];
  const report = reportLoopFailures({
    log: { warn: (event) => warnings.push(event) },
    metrics: { increment: (name, labels) => counted.push(`${name}:${labels?.loop}`) },
  }, "link_sweep");
  report(new Error("KV down"));
  assert.deepEqual(warnings, ["link_sweep_failed"]);
  assert.deepEqual(counted, ["switchboard_background_failures_total:link_sweep"]);
});
