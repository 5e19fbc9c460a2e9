import assert from "node:assert/strict";
import {
  healthOnNewConnection,
  request,
  startServer,
  TEST_API_KEY,
  type TestServer,
  waitFor,
} from "./harness.ts";
import {
  INTEGRATION,
  openEventSource,
  openNotificationSocket,
  publish,
  publishOk,
  streamToken,
  userToken,
} from "./notifications_fixtures.ts";
import type { Frame, TestSocket } from "./ws_client.ts";

const INTERVAL = 300;
const ENV = { NOTIFY_RETRY_INTERVAL_MS: String(INTERVAL), NOTIFY_MAX_RETRIES: "3" };

async function auditEntry(url: string, userId: string, id: string): Promise<Frame | undefined> {
  const log = await request(`${url}/api/notifications/log?userId=${userId}`, {
    bearer: TEST_API_KEY,
  });
  return log.body.entries.find((entry: { id: string }) => entry.id === id);
}

function framesOf(socket: TestSocket, id: string): Frame[] {
  return socket.frames.filter((frame) => frame.id === id);
}

/** Re-sends of `ids` that arrived after `reply` (an ack's reply: none may follow it). */
function resentAfter(socket: TestSocket, reply: Frame, ids: string[]): Frame[] {
  return socket.frames.slice(socket.frames.indexOf(reply) + 1)
    .filter((frame) => ids.includes(frame.id) && frame.retry !== undefined);
}

/**
 * The audit entry once it records re-send number `attempt`: its `lastRetryAt`
 * is when the driver made it, so the next re-send is due one interval later.
 */
async function retried(server: TestServer, id: string, attempt: number): Promise<Frame> {
  return await waitFor(async () => {
    const entry = await auditEntry(server.url, "ada", id);
    return (entry?.retryCount ?? 0) >= attempt ? entry : null;
  }, { message: `re-send ${attempt} recorded` });
}

/**
 * Resolves once the moment the driver's next check was due (`lastRetryAt` + the
 * interval) has passed; then publishes a marker to ada and resolves with its id.
 * Passing the due time is what these tests check: at its next check the
 * driver re-sends nothing. A user's deliveries keep their order, so a re-send
 * made at that check arrives before the marker.
 */
async function markerAfterNextCheck(server: TestServer, lastRetryAt: string): Promise<string> {
  const dueAt = Date.parse(lastRetryAt) + INTERVAL;
  await waitFor(() => Date.now() > dueAt, { message: "the next check was due" });
  const [marker] = await publishOk(server, {
    userId: "ada",
    type: "success",
    data: { message: "marker" },
  });
  return marker!;
}

Deno.test({
  name:
    "requiresAck without an ack: exactly 3 re-sends to the connection, then failed in the audit log",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: ENV });
    const token = await userToken(server, "ada");
    await using socket = (await openNotificationSocket(server, token)).socket;
    const started = Date.now();
    const [id] = await publishOk(server, {
      userId: "ada",
      type: "success",
      data: { message: "ack me" },
      requiresAck: true,
    });
    const failed = await waitFor(async () => {
      const entry = await auditEntry(server.url, "ada", id!);
      return entry?.status === "failed" ? entry : null;
    }, { timeoutMs: 15_000, message: "failed in the audit log" });
    assert.ok(Date.now() - started >= 4 * INTERVAL * 0.9, "failed only after the last interval");
    // Failing is the driver's last step; a user's deliveries keep their order, so every
    // re-send made arrives before a notification published now.
    const [marker] = await publishOk(server, {
      userId: "ada",
      type: "success",
      data: { message: "marker" },
    });
    await socket.next((frame) => frame.id === marker);
    const frames = framesOf(socket, id!);
    assert.deepEqual(frames.map((frame) => frame.retry), [undefined, 1, 2, 3]);
    assert.ok(frames.every((frame) => frame.requiresAck === true));
    assert.equal(failed.retryCount, 3);
    assert.equal(failed.acknowledged, false);
    assert.equal(failed.acknowledgedAt, null);
    assert.ok(failed.deliveredAt);
    assert.ok(Date.parse(failed.lastRetryAt) > Date.parse(failed.sentAt));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /switchboard_notifications_total\{event="retried"\} 3/);
    assert.match(metrics, /switchboard_notifications_total\{event="failed"\} 1/);
  },
});

Deno.test({
  name: "an ack after the first re-send stops the re-sends and records acknowledged with its time",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: ENV });
    const token = await userToken(server, "ada");
    await using socket = (await openNotificationSocket(server, token)).socket;
    const [id] = await publishOk(server, {
      userId: "ada",
      type: "success",
      data: { message: "ack me later" },
      requiresAck: true,
    });
    await socket.next((frame) => frame.id === id && frame.retry === undefined);
    await socket.next((frame) => frame.id === id && frame.retry === 1);
    const ackedAt = Date.now();
    socket.send({ type: "ack", notificationId: id });
    const reply = await socket.next((frame) => frame.type === "notification.acked");
    assert.equal(reply.notificationId, id);
    const { lastRetryAt } = await retried(server, id!, 1);
    const marker = await markerAfterNextCheck(server, lastRetryAt);
    await socket.next((frame) => frame.id === marker);
    // A machine that stalls for an interval before the ack is handled sees one more
    // re-send, which is right: what an ack guarantees is that none follows its reply.
    const retries = framesOf(socket, id!).map((frame) => frame.retry);
    assert.deepEqual(retries, [undefined, ...retries.slice(1).map((_, index) => index + 1)]);
    assert.ok(retries.length >= 2);
    assert.deepEqual(resentAfter(socket, reply, [id!]), []);
    const entry = await auditEntry(server.url, "ada", id!);
    assert.equal(entry?.status, "acknowledged");
    assert.equal(entry?.acknowledged, true);
    assert.equal(entry?.retryCount, retries.length - 1);
    assert.ok(Math.abs(Date.parse(entry?.acknowledgedAt) - ackedAt) < 2000);
    assert.ok(entry?.lastRetryAt);
    socket.send({ type: "ack", notificationId: "no-such-notification" });
    const error = await socket.next((frame) => frame.type === "error");
    assert.equal(error.code, "notification_not_found");

    // A burst is acked in one frame.
    const burst: string[] = [];
    for (const message of ["one", "two"]) {
      burst.push(
        ...await publishOk(server, {
          userId: "ada",
          type: "success",
          data: { message },
          requiresAck: true,
        }),
      );
    }
    await socket.collect((frame) => burst.includes(frame.id) && frame.retry === undefined, 2);
    socket.send({ type: "ack", notificationIds: burst });
    const replies = await socket.collect(
      (frame) => frame.type === "notification.acked" && burst.includes(frame.notificationId),
      2,
    );
    assert.equal(replies.length, 2);
    // Their first re-sends were due an interval after they were sent (unless the machine
    // stalled that long before the ack: then they came before its replies, which is right).
    const burstMarker = await markerAfterNextCheck(server, new Date(Date.now()).toISOString());
    await socket.next((frame) => frame.id === burstMarker);
    assert.deepEqual(resentAfter(socket, replies.at(-1)!, burst), []);
  },
});

Deno.test({
  name: "an ack sent to the other isolate stops the re-sends driven by the publishing isolate",
  ...INTEGRATION,
  async fn() {
    // Room for re-sends while the ack travels (a busy machine can take over 300 ms).
    const maxRetries = 6;
    await using server = await startServer({
      isolates: 2,
      env: { ...ENV, NOTIFY_MAX_RETRIES: String(maxRetries) },
    });
    const token = await userToken(server, "ada");
    // A kept-alive connection stays on one isolate: the publish lands (and its retries run) there.
    using client = Deno.createHttpClient({});
    const publisherIsolate = (await (await fetch(`${server.url}/healthz`, { client })).json())
      .isolate;
    let other: TestSocket | null = null;
    for (let attempt = 0; attempt < 40 && !other; attempt++) {
      const { socket, ready } = await openNotificationSocket(server, token);
      if (ready.isolate !== publisherIsolate) other = socket;
      else await socket.close();
    }
    assert.ok(other, "a socket landed on the other isolate");
    await using socket = other;
    const published = await publish(server, {
      userId: "ada",
      type: "success",
      data: { message: "ack me elsewhere" },
      requiresAck: true,
    }, { client });
    assert.equal(published.status, 202);
    const id = published.body.ids[0];
    const sameIsolate = (await (await fetch(`${server.url}/healthz`, { client })).json()).isolate;
    assert.equal(sameIsolate, publisherIsolate, "the publish went to the publisher isolate");
    await socket.next((frame) => frame.id === id && frame.retry === 1, 10_000);
    socket.send({ type: "ack", notificationId: id });
    await socket.next((frame) => frame.type === "notification.acked");
    // The ack is in. On a busy machine re-sends whose check began before it may still go out
    // (the interval is 300 ms), and the driver records each re-send after sending it. Once
    // the audit log counts every re-send that arrived, a marker published one interval after
    // the last one shows whether any more came; none may, once the ack is in.
    let settled: Frame | null = null;
    for (let round = 0; round < maxRetries && !settled; round++) {
      const entry = await waitFor(async () => {
        const found = await auditEntry(server.url, "ada", id);
        const arrived = framesOf(socket, id).length - 1;
        return found?.status === "acknowledged" && found.retryCount >= arrived ? found : null;
      }, { message: "every re-send that arrived recorded, and the ack" });
      const marker = await markerAfterNextCheck(server, entry.lastRetryAt);
      await socket.next((frame) => frame.id === marker);
      const after = await auditEntry(server.url, "ada", id);
      const arrived = framesOf(socket, id).length - 1;
      if (after?.retryCount === entry.retryCount && arrived === entry.retryCount) settled = entry;
    }
    assert.ok(settled, "the re-sends stopped after the ack");
    assert.ok(
      settled.retryCount >= 1 && settled.retryCount < maxRetries,
      "stopped before the last",
    );
    assert.deepEqual(
      framesOf(socket, id).map((frame) => frame.retry),
      [undefined, ...Array.from({ length: settled.retryCount }, (_, index) => index + 1)],
      "every re-send made arrived, once",
    );
    assert.notEqual((await healthOnNewConnection(server.url)).isolate, "", "still healthy");
  },
});

Deno.test({
  name: "SSE clients ack over HTTP, which stops the re-sends",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: ENV });
    const token = await userToken(server, "ada");
    await using source = openEventSource(
      `${server.url}/api/notifications/stream?token=${await streamToken(server, token)}`,
    );
    await source.collect((record) => record.event === "notification.ready", 1);
    const [id] = await publishOk(server, {
      userId: "ada",
      type: "error",
      data: { message: "card declined" },
      requiresAck: true,
    });
    const [frame] = await source.collect((record) => record.data.id === id, 1);
    assert.equal(frame!.event, "message", "unnamed, so it never looks like EventSource's error");
    assert.equal(frame!.data.type, "error");
    const acked = await request(`${server.url}/api/notifications/${id}/ack`, {
      method: "POST",
      bearer: token,
    });
    assert.equal(acked.status, 200);
    assert.equal(acked.body.status, "acknowledged");
    // A re-send already under way when the ack landed may still arrive (a slow
    // machine can pass the 300 ms interval first); after that, nothing more.
    const entry = await auditEntry(server.url, "ada", id!);
    const marker = await markerAfterNextCheck(
      server,
      entry?.lastRetryAt ?? new Date(Date.parse(entry?.sentAt)).toISOString(),
    );
    await source.collect((record) => record.data.id === marker, 1);
    const afterAck = source.events.filter((record) => record.data.id === id).length;
    assert.ok(afterAck <= 2, `at most one re-send raced the ack (got ${afterAck} frames)`);
    const other = await userToken(server, "mallory");
    const foreign = await request(`${server.url}/api/notifications/${id}/ack`, {
      method: "POST",
      bearer: other,
    });
    assert.equal(foreign.status, 404, "another user cannot ack it");
  },
});

Deno.test({
  name:
    "retries survive a crash: after kill and restart the unacked one is re-sent on connect and the re-sends go on to failed",
  ...INTEGRATION,
  async fn() {
    let server = await startServer({ env: { ...ENV, NOTIFY_RETRY_INTERVAL_MS: "400" } });
    try {
      const token = await userToken(server, "ada");
      const [id] = await publishOk(server, {
        userId: "ada",
        type: "success",
        data: { message: "survive" },
        requiresAck: true,
      });
      const before = await waitFor(async () => {
        const entry = await auditEntry(server.url, "ada", id!);
        return (entry?.retryCount ?? 0) >= 1 ? entry : null;
      });
      server = await server.restart({ kill: true });
      await using socket = (await openNotificationSocket(server, token)).socket;
      // Sent again on connect: as a redelivery, or as a live re-send when the isolate that
      // took the retries over got there first (the redelivery then skips what was seen).
      const again = await socket.next((frame) => frame.id === id);
      if (again.redelivered === true) {
        assert.equal(again.cursor, undefined, "a redelivery does not move the resume cursor");
      } else {
        assert.equal(
          typeof again.retry,
          "number",
          `a redelivery or a re-send: ${JSON.stringify(again)}`,
        );
      }
      const failed = await waitFor(async () => {
        const entry = await auditEntry(server.url, "ada", id!);
        return entry?.status === "failed" ? entry : null;
      }, { timeoutMs: 20_000, message: "another isolate took over and finished" });
      assert.equal(failed.retryCount, 3);
      const retries = framesOf(socket, id!).flatMap((frame) => frame.retry ? [frame.retry] : []);
      assert.ok(retries.length >= 1, "re-sends continued after the restart");
      assert.ok(retries.every((attempt) => attempt > before.retryCount), JSON.stringify(retries));
      assert.deepEqual(retries, [...new Set(retries)].sort(), "no re-send repeated");
      assert.equal(retries.at(-1), 3);
    } finally {
      await server.stop();
    }
  },
});
