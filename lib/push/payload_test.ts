import assert from "node:assert/strict";
import { MAX_PUSH_PAYLOAD_BYTES, pushPayloadFor } from "./payload.ts";

const base = { id: "n1", timestamp: "2026-12-05T00:00:00.000Z", requiresAck: false };

Deno.test("pushPayloadFor() carries what the service worker shows, never the whole data", () => {
  const payload = pushPayloadFor({
    ...base,
    type: "file_uploaded",
    data: { fileId: "f1", fileName: "q3.pdf", size: 1200, link: "/d/abc", uploadedBy: "x" },
  });
  assert.deepEqual(Object.keys(payload).sort(), [
    "body",
    "id",
    "link",
    "requiresAck",
    "timestamp",
    "title",
    "type",
  ]);
  assert.equal(payload.link, "/d/abc");
  assert.match(payload.title + payload.body, /q3\.pdf/);
});

Deno.test("pushPayloadFor() drops unsafe links and stays within the push size limit", () => {
  for (const link of ["javascript:alert(1)", "//evil.example", "/\\evil.example"]) {
    assert.equal(
      pushPayloadFor({ ...base, type: "success", data: { message: "m", link } }).link,
      null,
    );
  }
  const huge = pushPayloadFor({
    ...base,
    id: "x".repeat(128),
    type: "success",
    data: {
      title: "標".repeat(5000),
      message: "😀".repeat(5000),
      link: `https://a.example/${"p".repeat(2000)}`,
    },
  });
  const bytes = new TextEncoder().encode(JSON.stringify(huge)).length;
  assert.ok(bytes <= MAX_PUSH_PAYLOAD_BYTES, `${bytes} bytes`);
  assert.ok(huge.body.endsWith("…"));
});
