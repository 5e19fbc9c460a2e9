/**
 * Web Push against a real server and a fake push service on https that plays
 * the browser (tests/_fake_push_service.ts): subscribing (and what the endpoint
 * allowlist refuses), a notification nobody received pushed after
 * PUSH_DELAY_SECONDS with a VAPID JWT and an aes128gcm body the fake checks and
 * decrypts, one a connection received not pushed, 410 deleting the
 * subscription, 429 re-tried, every attempt in the audit log.
 */
import assert from "node:assert/strict";
import { FakePushService, makeTestCertificate } from "./_fake_push_service.ts";
import { request, startServer, TEST_API_KEY, type TestServer, waitFor } from "./harness.ts";
import {
  INTEGRATION,
  openNotificationSocket,
  publishOk,
  userToken,
} from "./notifications_fixtures.ts";

const tls = await makeTestCertificate();

async function startWithFake(): Promise<{ server: TestServer; fake: FakePushService }> {
  const fake = FakePushService.start(tls);
  const server = await startServer({
    env: {
      PUSH_ENDPOINT_HOSTS: fake.host,
      PUSH_DELAY_SECONDS: "1",
      VAPID_SUBJECT: "mailto:ops@switchboard.example",
      // The server's fetch trusts the fake's certificate (and the system's roots).
      DENO_CERT: tls.certPath,
    },
  });
  return { server, fake };
}

function subscribe(server: TestServer, token: string, body: unknown) {
  return request(`${server.url}/api/notifications/push-subscriptions`, {
    method: "POST",
    bearer: token,
    json: body,
  });
}

async function pushLog(server: TestServer, userId: string) {
  const log = await request(`${server.url}/api/notifications/push-log?userId=${userId}`, {
    bearer: TEST_API_KEY,
  });
  assert.equal(log.status, 200);
  return log.body.attempts as { outcome: string; status: number; attempt: number }[];
}

Deno.test({
  name: "a notification no connection received is pushed after the delay, signed and encrypted",
  ...INTEGRATION,
  async fn() {
    const { server, fake } = await startWithFake();
    await using _server = server;
    await using _fake = fake;
    const token = await userToken(server, "ada");

    // Subscribing: the allowlist and the keys are checked first.
    const outside = await subscribe(server, token, {
      endpoint: "https://169.254.169.254/latest/meta-data",
      keys: (await fake.subscribe()).keys,
    });
    assert.equal(outside.status, 400);
    assert.equal(outside.body.error.code, "push_endpoint_not_allowed");
    const plain = await subscribe(server, token, {
      endpoint: `http://${fake.host}/push/x`,
      keys: (await fake.subscribe()).keys,
    });
    assert.equal(plain.body.error.code, "push_endpoint_not_allowed");
    const badKeys = await subscribe(server, token, {
      endpoint: `${fake.origin}/push/x`,
      keys: { p256dh: "AAAA", auth: "AAAA" },
    });
    assert.equal(badKeys.status, 400);
    assert.equal(badKeys.body.error.code, "invalid_push_subscription");

    const browser = await fake.subscribe();
    const created = await subscribe(server, token, { ...browser, label: "Test browser" });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await subscribe(server, token, browser)).status, 200, "subscribing again");
    const preferences = await request(`${server.url}/api/notifications/preferences`, {
      bearer: token,
    });
    assert.deepEqual(preferences.body.push.subscriptions.map((item: { label: string }) => item), [
      {
        id: created.body.subscription.id,
        label: "Test browser",
        service: fake.origin,
        createdAt: created.body.subscription.createdAt,
      },
    ]);

    const [id] = await publishOk(server, {
      userId: "ada",
      type: "success",
      data: { title: "Export ready", message: "Your CSV is ready", link: "/d/abc" },
    });
    const [push] = await fake.waitFor(1);
    assert.equal(push!.problem, null);
    assert.equal(push!.status, 201);
    assert.equal(push!.claims.aud, fake.origin);
    assert.equal(push!.claims.sub, "mailto:ops@switchboard.example");
    assert.equal(push!.headers["content-encoding"], "aes128gcm");
    assert.equal(push!.headers.urgency, "normal");
    assert.match(push!.headers.topic ?? "", /^[A-Za-z0-9_-]{32}$/);
    assert.equal(Number(push!.headers["content-length"]), 4096, "padded to hide the length");
    assert.deepEqual(push!.payload, {
      id,
      type: "success",
      title: "Export ready",
      body: "Your CSV is ready",
      link: "/d/abc",
      timestamp: push!.payload!.timestamp,
      requiresAck: false,
    });
    const attempts = await waitFor(async () => {
      const log = await pushLog(server, "ada");
      return log.length === 1 ? log : null;
    });
    assert.deepEqual(
      attempts.map(({ outcome, status, attempt }) => ({ outcome, status, attempt })),
      [{ outcome: "sent", status: 201, attempt: 1 }],
    );

    // One a connection received in time is not pushed; a requiresAck one nobody acked is.
    const { socket } = await openNotificationSocket(server, token);
    await using _socket = socket;
    await publishOk(server, { userId: "ada", type: "success", data: { message: "Seen live" } });
    const [acked] = await publishOk(server, {
      userId: "ada",
      type: "file_uploaded",
      data: { fileId: "f1", fileName: "a.pdf", size: 10 },
      requiresAck: true,
    });
    const second = (await fake.waitFor(2))[1];
    assert.deepEqual(
      { id: second!.payload!.id, requiresAck: second!.payload!.requiresAck },
      { id: acked, requiresAck: true },
    );
    assert.equal(second!.headers.urgency, "high");
    await waitFor(async () => {
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      return /switchboard_push_total\{outcome="skipped"\} 1\b/.test(metrics);
    }, { message: "the notification the socket received was skipped" });
    assert.equal(fake.received.length, 2);
  },
});

Deno.test({
  name: "a 410 deletes the subscription, a 429 is re-tried, and both are in the audit log",
  ...INTEGRATION,
  async fn() {
    const { server, fake } = await startWithFake();
    await using _server = server;
    await using _fake = fake;
    const token = await userToken(server, "bob");
    const gone = await fake.subscribe([410]);
    const busy = await fake.subscribe([429]);
    assert.equal((await subscribe(server, token, gone)).status, 201);
    assert.equal((await subscribe(server, token, busy)).status, 201);
    // "always": pushed at once, open tab or not.
    const put = await request(`${server.url}/api/notifications/preferences`, {
      method: "PUT",
      bearer: token,
      json: { muted: [], push: { when: "never", types: { error: "always" } } },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body.push.types, { error: "always" });
    const unknown = await request(`${server.url}/api/notifications/preferences`, {
      method: "PUT",
      bearer: token,
      json: { muted: [], push: { types: { "no.such.type": "always" } } },
    });
    assert.equal(unknown.body.error.code, "unknown_type");

    await publishOk(server, { userId: "bob", type: "error", data: { message: "Disk full" } });
    await fake.waitFor(3);
    const statuses = fake.received.map((push) =>
      `${push.subscription === fake.received[0]!.subscription ? "" : ""}${push.status}`
    );
    assert.deepEqual(statuses.sort(), ["201", "410", "429"]);
    assert.ok(fake.received.every((push) => push.problem === null));

    const attempts = await waitFor(async () => {
      const log = await pushLog(server, "bob");
      return log.length === 3 ? log : null;
    });
    assert.deepEqual(
      attempts.map(({ outcome, status, attempt }) => `${outcome} ${status} #${attempt}`).sort(),
      ["gone 410 #1", "retry 429 #1", "sent 201 #2"],
    );
    const preferences = await waitFor(async () => {
      const response = await request(`${server.url}/api/notifications/preferences`, {
        bearer: token,
      });
      return response.body.push.subscriptions.length === 1 ? response.body : null;
    }, { message: "the 410 subscription is deleted" });
    assert.equal(preferences.push.subscriptions[0].service, fake.origin);
    // The other types stay off ("never").
    await publishOk(server, { userId: "bob", type: "success", data: { message: "quiet" } });
    const removed = await request(`${server.url}/api/notifications/push-subscriptions`, {
      method: "DELETE",
      bearer: token,
      json: { endpoint: busy.endpoint },
    });
    assert.deepEqual(removed.body, { removed: true });
    const again = await request(`${server.url}/api/notifications/push-subscriptions`, {
      method: "DELETE",
      bearer: token,
      json: { endpoint: busy.endpoint },
    });
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, "push_subscription_not_found");
    assert.equal(fake.received.length, 3);
  },
});
