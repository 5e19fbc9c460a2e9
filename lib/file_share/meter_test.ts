import assert from "node:assert/strict";
import { formatEta, formatSpeed, RateMeter } from "./meter.ts";

Deno.test("RateMeter measures speed over its window and follows a change of pace", () => {
  let now = 0;
  const meter = new RateMeter({ windowMs: 2000, now: () => now });
  assert.equal(meter.bytesPerSecond, 0, "unknown without history");
  assert.equal(meter.secondsLeft(100), null);
  for (let second = 0; second <= 4; second++) {
    now = second * 1000;
    meter.update(second * 1_000_000);
  }
  assert.equal(Math.round(meter.bytesPerSecond), 1_000_000);
  assert.equal(meter.secondsLeft(5_000_000), 5);
  // Four times faster from here on: after a window, the old pace is forgotten.
  for (let step = 1; step <= 8; step++) {
    now = 4000 + step * 250;
    meter.update(4_000_000 + step * 1_000_000);
  }
  assert.ok(Math.abs(meter.bytesPerSecond - 4_000_000) < 300_000, String(meter.bytesPerSecond));
  assert.equal(meter.secondsLeft(0), 0);
  meter.reset();
  assert.equal(meter.bytesPerSecond, 0);
});

Deno.test("formatSpeed and formatEta read like a person would say them", () => {
  assert.equal(formatSpeed(512), "512 B/s");
  assert.equal(formatSpeed(1536), "1.5 KB/s");
  assert.equal(formatSpeed(9.4 * 1024 * 1024), "9.4 MB/s");
  assert.equal(formatSpeed(25 * 1024 * 1024), "25 MB/s");
  assert.equal(formatEta(null), "estimating…");
  assert.equal(formatEta(Infinity), "estimating…");
  assert.equal(formatEta(0.2), "1 s left");
  assert.equal(formatEta(75), "1 min 15 s left");
  assert.equal(formatEta(60 * 25), "25 min left");
  assert.equal(formatEta(3 * 3600), "about 3 h left");
});
