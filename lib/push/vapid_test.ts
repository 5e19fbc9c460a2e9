import assert from "node:assert/strict";
import { ensureVapidKeys, generateVapidKeys, VapidKeyError } from "./vapid.ts";

Deno.test("ensureVapidKeys() generates a key pair once and keeps it in KV", async () => {
  using kv = await Deno.openKv(":memory:");
  const [first, second] = await Promise.all([ensureVapidKeys(kv, {}), ensureVapidKeys(kv, {})]);
  assert.equal(first.publicKey, second.publicKey, "isolates starting together agree");
  assert.equal((await ensureVapidKeys(kv, {})).privateKey, first.privateKey);
  assert.match(first.publicKey, /^B[A-Za-z0-9_-]{86}$/);
  assert.equal(first.subject, "mailto:switchboard@localhost");
  assert.equal(
    (await ensureVapidKeys(kv, { publicUrl: "https://sb.example/app" })).subject,
    "https://sb.example",
  );
});

Deno.test("ensureVapidKeys() takes keys from the environment only as one matching pair", async () => {
  using kv = await Deno.openKv(":memory:");
  const pair = await generateVapidKeys();
  const other = await generateVapidKeys();
  const keys = await ensureVapidKeys(kv, { ...pair, subject: "mailto:ops@example.com" });
  assert.deepEqual(keys, { ...pair, subject: "mailto:ops@example.com" });
  await assert.rejects(
    ensureVapidKeys(kv, { publicKey: pair.publicKey }),
    (error) => error instanceof VapidKeyError && /both/.test(error.message),
  );
  await assert.rejects(
    ensureVapidKeys(kv, { publicKey: pair.publicKey, privateKey: other.privateKey }),
    /not one key pair/,
  );
});
