import assert from "node:assert/strict";
import { fencedBlocks } from "./markdown.ts";

Deno.test("fencedBlocks() finds every fenced block with its language and line", () => {
  const markdown = [
    "# Title",
    "",
    "```sh",
    'curl -fsS "$BASE/healthz"',
    "```",
    "",
    "- a list item:",
    "",
    "  ```json",
    '  {"ok": true}',
    "  ```",
    "",
    "~~~",
    "plain ``` inside",
    "~~~",
  ].join("\n");
  assert.deepEqual(fencedBlocks(markdown), [
    { lang: "sh", code: 'curl -fsS "$BASE/healthz"', line: 3 },
    { lang: "json", code: '{"ok": true}', line: 9 },
    { lang: "", code: "plain ``` inside", line: 13 },
  ]);
});

Deno.test("fencedBlocks() needs a fence at least as long to close a block", () => {
  const blocks = fencedBlocks("````md\n```sh\necho\n```\n````\n");
  assert.deepEqual(blocks, [{ lang: "md", code: "```sh\necho\n```", line: 1 }]);
});
