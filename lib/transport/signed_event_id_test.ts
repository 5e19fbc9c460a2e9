import assert from "node:assert/strict";
import { EVENT_ID_MAX_AGE_MS, eventIdCursor, EventIdSigner } from "./signed_event_id.ts";

Deno.test("EventIdSigner.verify() takes its own ids for the same subject and nothing else", () => {
  let now = 1_800_000_000_000;
  const signer = new EventIdSigner("secret", { now: () => now });
  const id = signer.sign("ada", "k2x9fq1a-42");
  assert.equal(eventIdCursor(id), "k2x9fq1a-42");
  assert.deepEqual(signer.verify("ada", id), {
    ok: true,
    cursor: "k2x9fq1a-42",
    issuedAtMs: 1_800_000_000_000,
  });
  assert.deepEqual(signer.verify("bob", id), { ok: false, reason: "forged" });
  assert.deepEqual(new EventIdSigner("other").verify("ada", id), { ok: false, reason: "forged" });
  const [, sent, mac] = id.split(".");
  assert.deepEqual(signer.verify("ada", `k2x9fq1a-43.${sent}.${mac}`), {
    ok: false,
    reason: "forged",
  });
  assert.deepEqual(signer.verify("ada", "k2x9fq1a-42"), { ok: false, reason: "malformed" });
  assert.deepEqual(signer.verify("ada", "../x.1.abc"), { ok: false, reason: "malformed" });
  now += EVENT_ID_MAX_AGE_MS + 1000;
  assert.deepEqual(signer.verify("ada", id), { ok: false, reason: "expired" });
});
