import assert from "node:assert/strict";
import { JsonDepthError, MAX_JSON_DEPTH, nestsDeeperThan, parseJson } from "./mod.ts";

const nested = (depth: number, open = "[", close = "]") =>
  `${open.repeat(depth)}${close.repeat(depth)}`;

Deno.test("parseJson() parses up to MAX_JSON_DEPTH levels and refuses one more", () => {
  assert.equal(JSON.stringify(parseJson(nested(MAX_JSON_DEPTH))).length, MAX_JSON_DEPTH * 2);
  assert.throws(() => parseJson(nested(MAX_JSON_DEPTH + 1)), JsonDepthError);
  const objects = `${'{"a":'.repeat(MAX_JSON_DEPTH + 1)}1${"}".repeat(MAX_JSON_DEPTH + 1)}`;
  assert.throws(() => parseJson(objects), /deeper than 128 levels/);
  assert.throws(() => parseJson(nested(5000)), JsonDepthError);
});

Deno.test("nestsDeeperThan() does not count brackets inside strings, escaped quotes included", () => {
  const text = JSON.stringify({ text: `${"[".repeat(500)}"\\{`, list: [[1], { b: "]]" }] });
  assert.equal(nestsDeeperThan(text, 3), false);
  assert.equal(nestsDeeperThan(text, 2), true);
  assert.deepEqual(parseJson(text, { maxDepth: 3 }), JSON.parse(text));
});

Deno.test("parseJson() still throws JSON.parse's SyntaxError for text that is not JSON", () => {
  assert.throws(() => parseJson("{nope"), (error) => !(error instanceof JsonDepthError));
});
