import assert from "node:assert/strict";
import { formatBytes, formatDuration, formatTimeLeft } from "./display.ts";

Deno.test("formatBytes() picks a unit and keeps one decimal only below 10", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.5 KB");
  assert.equal(formatBytes(100 * 1024 * 1024), "100 MB");
});

Deno.test("formatDuration() and formatTimeLeft() round to the largest unit", () => {
  assert.equal(formatDuration(1), "1 second");
  assert.equal(formatDuration(90), "2 minutes");
  assert.equal(formatDuration(3600), "1 hour");
  assert.equal(formatDuration(3599), "1 hour");
  assert.equal(formatDuration(59.7), "1 minute");
  assert.equal(formatDuration(86000), "1 day");
  assert.equal(formatDuration(86400 * 2), "2 days");
  assert.equal(formatTimeLeft(new Date(10_000 + 600_000).toISOString(), 10_000), "in 10 minutes");
  assert.equal(formatTimeLeft(new Date(0).toISOString(), 10_000), "expired");
});
