import assert from "node:assert/strict";
import { serializeProps } from "./serialize.ts";

Deno.test("serializeProps() cannot be broken out of with </script> or <!--", () => {
  const hostile = { a: "</script><script>alert(1)</script>", b: "<!-- x -->", c: "\u2028&" };
  const text = serializeProps(hostile);
  assert.ok(!text.includes("<"));
  assert.ok(!text.includes(">"));
  assert.ok(!text.includes("\u2028"));
  assert.deepEqual(JSON.parse(text), hostile);
});
