import assert from "node:assert/strict";
import { systemClock } from "./mod.ts";
import { FakeClock } from "./testing.ts";

Deno.test("FakeClock fires timers in order only when time is moved on", () => {
  const clock = new FakeClock(1_000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
  const cleared = clock.setTimeout(() => fired.push("cleared"), 15);
  clock.clearTimeout(cleared);
  assert.equal(clock.pending, 2);
  clock.tick(9);
  assert.deepEqual(fired, []);
  clock.tick(100);
  assert.deepEqual(fired, ["a@1010", "b@1020"]);
  assert.equal(clock.now(), 1_109);
  assert.equal(clock.pending, 0);
});

Deno.test("FakeClock.nextTimer() waits for a timer to be set, then jumps to it", async () => {
  const clock = new FakeClock(0);
  let fired = false;
  const jumped = clock.nextTimer();
  queueMicrotask(() => clock.setTimeout(() => fired = true, 5_000));
  assert.equal(await jumped, 5_000);
  assert.equal(fired, true);
  assert.equal(clock.now(), 5_000);
});

Deno.test("systemClock runs real timers and clears them", async () => {
  const before = systemClock.now();
  assert.ok(Math.abs(before - Date.now()) < 1_000);
  const cleared = systemClock.setTimeout(() => assert.fail("cleared timer fired"), 0);
  systemClock.clearTimeout(cleared);
  await new Promise<void>((fired) => systemClock.setTimeout(fired, 1));
});
