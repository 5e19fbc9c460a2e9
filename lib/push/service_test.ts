import assert from "node:assert/strict";
import { FakeClock, waitFor } from "../clock/testing.ts";
import { NotificationCenter } from "../notifications/center.ts";
import { KvBroker } from "../realtime/mod.ts";
import { encodeBase64Url } from "../text/mod.ts";
import { PushService } from "./service.ts";
import { generateVapidKeys } from "./vapid.ts";

/** A browser's subscription keys (the push service encrypts to them). */
async function browserKeys(): Promise<{ p256dh: string; auth: string }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return {
    p256dh: encodeBase64Url(raw),
    auth: encodeBase64Url(crypto.getRandomValues(new Uint8Array(16))),
  };
}

/** A push service answering `statuses` in turn (then 201), each with its headers. */
function scriptedPushService(statuses: { status: number; headers?: Record<string, string> }[]) {
  const requests: string[] = [];
  const fetch = (url: string) => {
    requests.push(url);
    const next = statuses.shift() ?? { status: 201 };
    return Promise.resolve(new Response(null, next));
  };
  return { requests, fetch };
}

Deno.test("a notification is pushed after the delay; 5xx and 429 are re-tried with back-off", async () => {
  const kv = await Deno.openKv(":memory:");
  await using broker = new KvBroker(kv, { channelName: `push-${crypto.randomUUID()}` });
  const clock = new FakeClock();
  const service = scriptedPushService([
    { status: 503 },
    { status: 429, headers: { "Retry-After": "30" } },
  ]);
  await using push = new PushService(
    { kv, config: { PUSH_DELAY_SECONDS: 10, PUSH_ENDPOINT_HOSTS: ["push.test"] } },
    { ...await generateVapidKeys(), subject: "mailto:ops@example.com" },
    { fetch: service.fetch, clock, sweep: false, random: () => 0.5, retryBaseMs: 1000 },
  );
  await using center = new NotificationCenter({
    kv,
    broker,
    config: {},
    push,
  });
  await push.subscribe("ada", {
    endpoint: "https://push.test/device-1",
    keys: await browserKeys(),
  });
  const [published] = await center.publish({
    userIds: ["ada"],
    type: "success",
    data: { message: "Export ready" },
  });

  // Nothing goes out before the delay; then the first request (503) and the back-off.
  assert.equal(await clock.nextTimer(), 10_000, "waits PUSH_DELAY_SECONDS");
  await waitFor(() => service.requests.length === 1);
  assert.equal(await clock.nextTimer(), 1000, "first back-off: the base");
  await waitFor(() => service.requests.length === 2);
  assert.equal(await clock.nextTimer(), 30_000, "Retry-After beats the shorter back-off");
  await waitFor(() => service.requests.length === 3);
  assert.deepEqual(service.requests, Array(3).fill("https://push.test/device-1"));

  const attempts = await waitFor(async () => {
    const found = await push.attempts("ada");
    return found.length === 3 ? found : null;
  });
  assert.deepEqual(
    attempts.reverse().map((item) => [item.outcome, item.status, item.attempt, item.reason]),
    [["retry", 503, 1, "away"], ["retry", 429, 2, "away"], ["sent", 201, 3, "away"]],
  );
  assert.ok(attempts.every((item) => item.notificationId === published!.id));
  kv.close();
});

Deno.test("a notification read before the delay is not pushed", async () => {
  const kv = await Deno.openKv(":memory:");
  await using broker = new KvBroker(kv, { channelName: `push-${crypto.randomUUID()}` });
  const clock = new FakeClock();
  const service = scriptedPushService([]);
  await using push = new PushService(
    { kv, config: { PUSH_DELAY_SECONDS: 10, PUSH_ENDPOINT_HOSTS: ["push.test"] } },
    { ...await generateVapidKeys(), subject: "mailto:ops@example.com" },
    { fetch: service.fetch, clock, sweep: false },
  );
  await using center = new NotificationCenter({
    kv,
    broker,
    config: {},
    push,
  });
  await push.subscribe("ada", {
    endpoint: "https://push.test/device-1",
    keys: await browserKeys(),
  });
  const [published] = await center.publish({
    userIds: ["ada"],
    type: "success",
    data: { message: "Seen elsewhere" },
  });
  await clock.timerSet();
  await center.markRead("ada", [published!.id]);
  await clock.nextTimer();
  // The due entry is claimed (deleted), then the check runs: wait for both.
  await waitFor(async () =>
    (await Array.fromAsync(kv.list({ prefix: ["push", "due"] }))).length === 0
  );
  await push[Symbol.asyncDispose]();
  assert.deepEqual(await push.attempts("ada"), []);
  assert.deepEqual(service.requests, []);
  kv.close();
});
