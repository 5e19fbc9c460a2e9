import assert from "node:assert/strict";
import { createLogger, redact } from "./mod.ts";

Deno.test("redact() removes credential fields and token-shaped strings", () => {
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl";
  const cleaned = redact({
    token: "anything",
    apiKey: "sb_0123456789abcdef0123",
    nested: { authorization: "Bearer x", note: `url /x?token=${jwt}&a=1`, list: [jwt] },
    error: new Error(`bad token ${jwt}`),
    plain: "hello",
  });
  const text = JSON.stringify(cleaned);
  assert.ok(!text.includes(jwt));
  assert.ok(!text.includes("sb_0123456789abcdef0123"));
  assert.ok(!text.includes("Bearer x"));
  assert.match(text, /"plain":"hello"/);
});

Deno.test("createLogger() writes one JSON line per event at or above its level", () => {
  const lines: string[] = [];
  const log = createLogger({
    level: "info",
    isolate: "abcd1234",
    write: (line) => lines.push(line),
  });
  log.debug("hidden");
  log.info("shown", { secret: "s3cr3t", count: 2 });
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0]!);
  assert.equal(record.event, "shown");
  assert.equal(record.level, "info");
  assert.equal(record.isolate, "abcd1234");
  assert.equal(record.secret, "[redacted]");
  assert.equal(record.count, 2);
});
