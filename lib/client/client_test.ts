import assert from "node:assert/strict";
import { backoffDelay, CursorTracker } from "./mod.ts";

Deno.test("backoffDelay() grows from 1 s to a 30 s cap with jitter in [50%, 100%]", () => {
  assert.equal(backoffDelay(0, { random: () => 1 }), 1000);
  assert.equal(backoffDelay(0, { random: () => 0 }), 500);
  assert.equal(backoffDelay(3, { random: () => 1 }), 8000);
  assert.equal(backoffDelay(10, { random: () => 1 }), 30_000);
  assert.equal(backoffDelay(50, { random: () => 0 }), 15_000);
});

Deno.test("CursorTracker drops frames at or before the last cursor and repeated ids", () => {
  const tracker = new CursorTracker();
  assert.equal(tracker.accept("ab12-1"), true);
  assert.equal(tracker.accept("ab12-2"), true);
  assert.equal(tracker.accept("ab12-2"), false);
  assert.equal(tracker.accept("ab12-1"), false);
  assert.equal(tracker.cursor, "ab12-2");
  assert.equal(tracker.accept("zz99-1"), true, "a new epoch is accepted");
  assert.equal(tracker.accept(undefined, "n1"), true);
  assert.equal(tracker.accept(undefined, "n1"), false);
  tracker.reset("zz99-7");
  assert.equal(tracker.accept("zz99-7"), false);
  assert.equal(tracker.accept("zz99-8"), true);
});
