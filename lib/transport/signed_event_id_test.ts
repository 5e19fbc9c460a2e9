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
  assert.deepEqual(signer.verify("ada", `p0a1b2c3-42.${sent}.${mac}`), {
    ok: false,
    reason: "forged",
  }, "another epoch");
  const later = (Number.parseInt(sent!, 36) + 1).toString(36);
  assert.equal(signer.verify("ada", `k2x9fq1a-42.${later}.${mac}`).ok, false, "another time");
  // One MAC serves a subject's ids in an epoch for a while; a later one is made afresh.
  assert.equal(signer.sign("ada", "k2x9fq1a-43"), `k2x9fq1a-43.${sent}.${mac}`);
  assert.equal(signer.verify("ada", signer.sign("ada", "k2x9fq1a-43")).ok, true);
  now += 10 * 60_000;
  const renewed = signer.sign("ada", "k2x9fq1a-44");
  assert.notEqual(renewed.split(".")[1], sent);
  assert.deepEqual(signer.verify("ada", renewed), {
    ok: true,
    cursor: "k2x9fq1a-44",
    issuedAtMs: 1_800_000_600_000,
  });
  now -= 10 * 60_000;
  assert.deepEqual(signer.verify("ada", "k2x9fq1a-42"), { ok: false, reason: "malformed" });
  assert.deepEqual(signer.verify("ada", "../x.1.abc"), { ok: false, reason: "malformed" });
  now += EVENT_ID_MAX_AGE_MS + 1000;
  assert.deepEqual(signer.verify("ada", id), { ok: false, reason: "expired" });
});
