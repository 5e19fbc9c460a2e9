import assert from "node:assert/strict";
import { jittered, reportLoopFailures, runPeriodically } from "./mod.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("jittered waits stay within ±20 % of the interval", () => {
  for (let index = 0; index < 1000; index++) {
    const wait = jittered(100);
    assert.ok(wait >= 80 && wait <= 120, `${wait}`);
  }
});

Deno.test("runPeriodically runs again after a failure, never overlaps runs, and stops on abort", async () => {
  const controller = new AbortController();
  const errors: unknown[] = [];
  let runs = 0;
  let running = 0;
  let overlapped = false;
  runPeriodically(async () => {
    runs += 1;
    running += 1;
    if (running > 1) overlapped = true;
    await sleep(15);
    running -= 1;
    if (runs === 1) throw new Error("first run fails");
  }, {
    intervalMs: 5,
    firstDelayMs: 0,
    signal: controller.signal,
    onError: (error) => errors.push(error),
  });
  while (runs < 4) await sleep(5);
  controller.abort();
  await sleep(30);
  const stoppedAt = runs;
  await sleep(60);
  assert.equal(runs, stoppedAt, "no run after abort");
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as Error).message, "first run fails");
  assert.equal(overlapped, false);
});

Deno.test("runPeriodically's async dispose waits for the run in progress", async () => {
  let finished = false;
  let started = false;
  const periodic = runPeriodically(async () => {
    started = true;
    await sleep(30);
    finished = true;
  }, { intervalMs: 1000, firstDelayMs: 0 });
  while (!started) await sleep(1);
  await periodic[Symbol.asyncDispose]();
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
