import assert from "node:assert/strict";
import { request, startServer, TEST_API_KEY, waitFor } from "./harness.ts";
import {
  INTEGRATION,
  openNotificationSocket,
  publish,
  publishOk,
  userToken,
} from "./notifications_fixtures.ts";

Deno.test({
  name: "publish: each kind of bad request gets its documented error, and ids make it idempotent",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { NOTIFY_MAX_DATA_BYTES: "1024" } });
    const good = { userId: "ada", type: "success", data: { message: "hello" } };

    const noKey = await publish(server, good, { bearer: null });
    assert.equal(noKey.status, 401);
    assert.equal(noKey.body.error.code, "missing_api_key");
    const wrongKey = await publish(server, good, { bearer: "sb_wrong_key_0000000000000000" });
    assert.equal(wrongKey.status, 401);
    assert.equal(wrongKey.body.error.code, "invalid_api_key");

    const noUser = await publish(server, { type: "success", data: { message: "x" } });
    assert.equal(noUser.status, 400);
    assert.equal(noUser.body.error.code, "missing_user");
    const badUser = await publish(server, { ...good, userId: "no spaces" });
    assert.equal(badUser.status, 400);
    assert.equal(badUser.body.error.code, "invalid_user");

    const unknown = await publish(server, { ...good, type: "party.started" });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, "unknown_type");
    assert.match(unknown.body.error.message, /group\.invitation\.received/);

    const wrongShape = await publish(server, {
      userId: "ada",
      type: "file_uploaded",
      data: { fileId: "f1", size: "big" },
    });
    assert.equal(wrongShape.status, 400);
    assert.equal(wrongShape.body.error.code, "invalid_data");
    const paths = wrongShape.body.error.issues.map((issue: { path: string }) => issue.path);
    assert.deepEqual(paths.sort(), ["data.fileName", "data.size"]);

    const oversized = await publish(server, { ...good, data: { message: "x".repeat(1100) } });
    assert.equal(oversized.status, 413);
    assert.equal(oversized.body.error.code, "data_too_large");
    const hugeBody = await publish(server, { ...good, data: { message: "x".repeat(200_000) } });
    assert.equal(hugeBody.status, 413);
    assert.equal(hugeBody.body.error.code, "body_too_large");
    const extraField = await publish(server, { ...good, priority: "high" });
    assert.equal(extraField.status, 400);
    assert.equal(extraField.body.error.code, "invalid_request");

    const token = await userToken(server, "ada");
    await using socket = (await openNotificationSocket(server, token)).socket;
    const first = await publish(server, { ...good, id: "invoice-42" });
    const again = await publish(server, { ...good, id: "invoice-42" });
    assert.equal(first.status, 202);
    assert.deepEqual(first.body.ids, ["invoice-42"]);
    assert.equal(again.status, 202);
    assert.deepEqual(again.body.ids, ["invoice-42"]);
    assert.equal(again.body.results[0].duplicate, true);
    await publishOk(server, { ...good, data: { message: "marker" } });
    await socket.next((frame) => frame.data?.message === "marker");
    const delivered = socket.frames.filter((frame) => frame.id === "invoice-42");
    assert.equal(delivered.length, 1, "the same id twice is one notification");
    const log = await request(`${server.url}/api/notifications/log?userId=ada`, {
      bearer: TEST_API_KEY,
    });
    assert.equal(
      log.body.entries.filter((entry: { id: string }) => entry.id === "invoice-42").length,
      1,
    );

    const many = await publish(server, {
      userIds: ["bo", "cy", "bo"],
      type: "success",
      data: { message: "hi" },
    });
    assert.equal(many.status, 202);
    assert.equal(many.body.ids.length, 2);
  },
});

Deno.test({
  name:
    "publish: a noisy producer gets 429 with Retry-After once a user's per-minute limit is used",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { NOTIFY_USER_PER_MINUTE: "3" } });
    const body = { userId: "ada", type: "success", data: { message: "again" } };
    for (let index = 0; index < 3; index++) await publishOk(server, body);
    const limited = await publish(server, body);
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, "rate_limited");
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    await publishOk(server, { ...body, userId: "bob" });
  },
});

Deno.test({
  name: "audit log: API key only, filters by user, type and status, with every delivery field",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const token = await userToken(server, "ada");
    await using socket = (await openNotificationSocket(server, token)).socket;
    const [acked] = await publishOk(server, {
      userId: "ada",
      type: "success",
      data: { message: "ack me" },
      requiresAck: true,
    });
    const [plain] = await publishOk(server, {
      userId: "ada",
      type: "error",
      data: { message: "plain" },
    });
    await publishOk(server, { userId: "bob", type: "success", data: { message: "bob's" } });
    await socket.next((frame) => frame.id === acked);
    await socket.next((frame) => frame.id === plain);
    socket.send({ type: "ack", notificationId: acked });
    const reply = await socket.next((frame) => frame.type === "notification.acked");
    assert.equal(reply.notificationId, acked);
    assert.equal(socket.frames.find((frame) => frame.id === plain)!.type, "error");

    assert.equal((await request(`${server.url}/api/notifications/log`)).status, 401);
    assert.equal(
      (await request(`${server.url}/api/notifications/log`, { bearer: token })).status,
      401,
      "a user token is not the API key",
    );
    const entries = await waitFor(async () => {
      const log = await request(`${server.url}/api/notifications/log?userId=ada`, {
        bearer: TEST_API_KEY,
      });
      const list = log.body.entries;
      return list.every((entry: { deliveredAt: string | null }) => entry.deliveredAt) ? list : null;
    });
    assert.deepEqual(entries.map((entry: { id: string }) => entry.id), [plain, acked]);
    const ackedEntry = entries[1];
    assert.deepEqual(Object.keys(ackedEntry).sort(), [
      "acknowledged",
      "acknowledgedAt",
      "data",
      "deliveredAt",
      "id",
      "lastRetryAt",
      "message",
      "read",
      "readAt",
      "requiresAck",
      "retryCount",
      "sentAt",
      "status",
      "timestamp",
      "type",
      "userId",
    ]);
    assert.equal(ackedEntry.status, "acknowledged");
    assert.equal(ackedEntry.acknowledged, true);
    assert.ok(Date.parse(ackedEntry.acknowledgedAt) >= Date.parse(ackedEntry.sentAt));
    assert.equal(entries[0].status, "delivered");
    assert.equal(entries[0].acknowledged, false);

    const byType = await request(`${server.url}/api/notifications/log?type=success`, {
      bearer: TEST_API_KEY,
    });
    assert.deepEqual(
      byType.body.entries.map((entry: { userId: string }) => entry.userId).sort(),
      ["ada", "bob"],
    );
    const byStatus = await request(`${server.url}/api/notifications/log?status=acknowledged`, {
      bearer: TEST_API_KEY,
    });
    assert.deepEqual(byStatus.body.entries.map((entry: { id: string }) => entry.id), [acked]);
    const badStatus = await request(`${server.url}/api/notifications/log?status=lost`, {
      bearer: TEST_API_KEY,
    });
    assert.equal(badStatus.status, 400);
  },
});

Deno.test({
  name: "a guest sends themselves a notification from the demo endpoint; the page renders",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const guest = await request(`${server.url}/api/auth/guest`, {
      method: "POST",
      json: { name: "Ada" },
    });
    const token = guest.body.token;
    await using socket = (await openNotificationSocket(server, token)).socket;
    const sent = await request(`${server.url}/api/notifications/demo`, {
      method: "POST",
      bearer: token,
      json: { type: "group.invitation.received" },
    });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const frame = await socket.next((candidate) => candidate.id === sent.body.ids[0]);
    assert.equal(frame.data.groupName, "Design team", "the example data is used");
    const bad = await request(`${server.url}/api/notifications/demo`, {
      method: "POST",
      bearer: token,
      json: { type: "success", data: { nope: 1 } },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "invalid_data");
    const anonymous = await request(`${server.url}/api/notifications/demo`, {
      method: "POST",
      json: { type: "success" },
    });
    assert.equal(anonymous.status, 401);
    const types = await request(`${server.url}/api/notifications/types`);
    assert.ok(types.body.types.some((item: { type: string }) => item.type === "shards_generated"));

    const page = await fetch(`${server.url}/notifications`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /data-island="NotificationPlayground"/);
    assert.match(html, /<script type="module" src="\/_islands\/NotificationPlayground-/);
    assert.doesNotMatch(html, /sb_test_api_key/, "the API key never reaches the page");
  },
});
