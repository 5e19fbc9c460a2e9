import assert from "node:assert/strict";
import { MemoryBroker } from "./memory_broker.ts";
import { parseSinceTime, positionAtTime } from "./since.ts";

Deno.test("parseSinceTime() reads all, durations and timestamps, and leaves cursors alone", () => {
  const now = Date.UTC(2026, 11, 5, 4, 0, 0);
  assert.deepEqual(parseSinceTime("all", now), { all: true });
  assert.deepEqual(parseSinceTime("10m", now), { time: now - 600_000 });
  assert.deepEqual(parseSinceTime("2h", now), { time: now - 7_200_000 });
  assert.deepEqual(parseSinceTime("30s", now), { time: now - 30_000 });
  assert.deepEqual(parseSinceTime("1d", now), { time: now - 86_400_000 });
  assert.deepEqual(parseSinceTime("1764907200", now), { time: 1_764_907_200_000 });
  assert.deepEqual(parseSinceTime("2026-12-05T03:00:00Z", now), {
    time: Date.UTC(2026, 11, 5, 3),
  });
  for (const cursor of ["42", "0", "k2x9fq1a-42", "123456789"]) {
    assert.equal(parseSinceTime(cursor, now), null, cursor);
  }
  for (const junk of ["10y", "soon", "2026-13-45T99:99:99Z", "-5m"]) {
    assert.equal(parseSinceTime(junk, now), null, junk);
  }
});

Deno.test("positionAtTime() finds the last event before a time, across pages", async () => {
  await using broker = new MemoryBroker();
  const times: number[] = [];
  for (let index = 0; index < 450; index++) {
    times.push((await broker.publish("app:t", index)).time);
  }
  const empty = await positionAtTime(broker, "app:none", 0);
  assert.deepEqual(empty, { offset: 0, epoch: "" });
  // Before everything: just before the first event; after everything: the head.
  assert.equal((await positionAtTime(broker, "app:t", times[0]! - 1)).offset, 0);
  assert.equal((await positionAtTime(broker, "app:t", times.at(-1)! + 1)).offset, 450);
  // A time inside the log (several events may share a millisecond): the position is the last
  // event older than it.
  const pick = times[17]!;
  const expected = times.filter((time) => time < pick).length;
  assert.equal((await positionAtTime(broker, "app:t", pick)).offset, expected);
});
