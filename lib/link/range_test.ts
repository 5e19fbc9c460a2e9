import assert from "node:assert/strict";
import { parseRange } from "./range.ts";

Deno.test("parseRange() reads start-end, open-ended and suffix ranges", () => {
  assert.deepEqual(parseRange("bytes=0-99", 1000), { kind: "partial", start: 0, end: 99 });
  assert.deepEqual(parseRange("bytes=900-", 1000), { kind: "partial", start: 900, end: 999 });
  assert.deepEqual(parseRange("bytes=-10", 1000), { kind: "partial", start: 990, end: 999 });
  assert.deepEqual(parseRange("bytes=-5000", 1000), { kind: "partial", start: 0, end: 999 });
  assert.deepEqual(parseRange("bytes=990-5000", 1000), { kind: "partial", start: 990, end: 999 });
});

Deno.test("parseRange() says unsatisfiable for ranges past the end", () => {
  assert.deepEqual(parseRange("bytes=1000-", 1000), { kind: "unsatisfiable" });
  assert.deepEqual(parseRange("bytes=2000-3000", 1000), { kind: "unsatisfiable" });
  assert.deepEqual(parseRange("bytes=-0", 1000), { kind: "unsatisfiable" });
  assert.deepEqual(parseRange("bytes=0-", 0), { kind: "unsatisfiable" });
});

Deno.test("parseRange() ignores what it does not serve: other units, several ranges, bad syntax", () => {
  assert.deepEqual(parseRange(undefined, 1000), { kind: "full" });
  assert.deepEqual(parseRange("items=0-1", 1000), { kind: "full" });
  assert.deepEqual(parseRange("bytes=0-1,5-6", 1000), { kind: "full" });
  assert.deepEqual(parseRange("bytes=9-1", 1000), { kind: "full" });
  assert.deepEqual(parseRange("bytes=-", 1000), { kind: "full" });
  assert.deepEqual(parseRange("bytes=abc", 1000), { kind: "full" });
});
