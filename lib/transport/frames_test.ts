import assert from "node:assert/strict";
import { z } from "zod";
import { parseFrame } from "./frames.ts";

const schemas = { ping: z.object({ type: z.literal("ping"), data: z.unknown().optional() }) };

Deno.test("parseFrame() answers a frame nested 5,000 levels deep with invalid_json, not a throw", () => {
  const deep = `{"type":"ping","data":${"[".repeat(5000)}${"]".repeat(5000)}}`;
  const parsed = parseFrame(deep, schemas);
  assert.equal(parsed.ok, false);
  assert.equal(!parsed.ok && parsed.code, "invalid_json");
  assert.match(!parsed.ok ? parsed.message : "", /deeper than 128 levels/);
  assert.deepEqual(parseFrame('{"type":"ping","data":[[1]]}', schemas), {
    ok: true,
    frame: { type: "ping", data: [[1]] },
  });
});
