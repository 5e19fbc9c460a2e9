import assert from "node:assert/strict";
import { request, sharedServer, startServer, waitFor } from "./harness.ts";
import { eventIdCursor } from "../lib/transport/mod.ts";
import {
  INTEGRATION,
  openEventSource,
  openNotificationSocket,
  publishOk,
  streamToken,
  userToken,
} from "./notifications_fixtures.ts";

/** The server of the tests below that need none of their own (each has its own user). */
const shared = sharedServer();

const isNotification = (frame: { id?: unknown; data?: unknown }) =>
  typeof frame.id === "string" && typeof frame.data === "object";

Deno.test({
  name:
    "SSE (EventSource): 10 notifications, a disconnect, 5 more, Last-Event-ID resumes with exactly the 5",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const token = await userToken(server, "ada");
    const first = openEventSource(
      `${server.url}/api/notifications/stream?token=${await streamToken(server, token)}`,
    );
    await first.collect((record) => record.event === "notification.ready", 1);
    for (let index = 1; index <= 10; index++) {
      await publishOk(server, { userId: "ada", type: "success", data: { message: `m${index}` } });
    }
    const ten = await first.collect((record) => record.data.type === "success", 10);
    assert.deepEqual(ten.map((record) => record.data.data.message), [
      ...Array.from({ length: 10 }, (_, index) => `m${index + 1}`),
    ]);
    for (const record of ten) {
      assert.equal(record.event, "message", "notifications are unnamed: onmessage gets them");
      assert.equal(
        eventIdCursor(record.id),
        record.data.cursor,
        "the SSE id is the frame's resume cursor, signed",
      );
      assert.deepEqual(Object.keys(record.data).sort(), [
        "cursor",
        "data",
        "id",
        "message",
        "requiresAck",
        "timestamp",
        "type",
      ]);
    }
    const lastEventId = ten.at(-1)!.id;
    first.close();

    for (let index = 11; index <= 15; index++) {
      await publishOk(server, { userId: "ada", type: "success", data: { message: `m${index}` } });
    }
    await using second = openEventSource(
      `${server.url}/api/notifications/stream?token=${await streamToken(server, token)}`,
      { lastEventId },
    );
    const five = await second.collect((record) => record.data.type === "success", 5);
    // Delivery is in order: anything replayed twice would come before this one.
    await publishOk(server, { userId: "ada", type: "success", data: { message: "m16" } });
    await second.collect((record) => record.data.data?.message === "m16", 1);
    const all = second.events.filter((record) => record.data.type === "success");
    assert.deepEqual(all.map((record) => record.data.data.message), [
      "m11",
      "m12",
      "m13",
      "m14",
      "m15",
      "m16",
    ]);
    assert.equal(five.length, 5);
    const offsets = all.map((record) => Number(eventIdCursor(record.id).split("-")[1]));
    assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), "in order");
  },
});

Deno.test({
  name:
    "SSE: EventSource reconnects by itself after a server restart and resumes with Last-Event-ID",
  ...INTEGRATION,
  async fn() {
    let server = await startServer();
    try {
      const token = await userToken(server, "ada");
      // A user token (reusable) in ?token=, so the library's own reconnect can use the same URL.
      const source = openEventSource(`${server.url}/api/notifications/stream?token=${token}`);
      await source.collect((record) => record.event === "notification.ready", 1);
      await publishOk(server, { userId: "ada", type: "success", data: { message: "before" } });
      await source.collect((record) => record.data.type === "success", 1);
      server = await server.restart();
      await publishOk(server, { userId: "ada", type: "success", data: { message: "after-1" } });
      await publishOk(server, { userId: "ada", type: "success", data: { message: "after-2" } });
      const got = await source.collect((record) => record.data.type === "success", 3, 20_000);
      assert.deepEqual(got.map((record) => record.data.data.message), [
        "before",
        "after-1",
        "after-2",
      ]);
      source.close();
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "a first connection's ready frame carries a cursor; a reconnect from it gets what came in between",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const token = await userToken(server, "newcomer");
    // No notification yet: the stream starts at the beginning, and says so with cursor "0".
    const { socket: first, ready } = await openNotificationSocket(server, token);
    assert.equal(ready.cursor, "0");
    await first.close();
    await publishOk(server, {
      userId: "newcomer",
      type: "success",
      data: { message: "while away" },
    });
    await using second = (await openNotificationSocket(server, token, ready.cursor as string))
      .socket;
    const [missed] = await second.collect(isNotification, 1);
    assert.equal(missed!.data.message, "while away");
    // With notifications stored, the ready frame's cursor is the head.
    await using sse = openEventSource(
      `${server.url}/api/notifications/stream?token=${await streamToken(server, token)}`,
    );
    const [readyEvent] = await sse.collect((record) => record.event === "notification.ready", 1);
    assert.equal(eventIdCursor(readyEvent!.id), missed!.cursor);
    assert.equal(readyEvent!.data.cursor, missed!.cursor);
  },
});

Deno.test({
  name: "WebSocket: 10 notifications, a disconnect, 5 more, since= resumes with exactly the 5",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const token = await userToken(server, "ada_ws");
    const { socket: first } = await openNotificationSocket(server, token);
    for (let index = 1; index <= 10; index++) {
      await publishOk(server, {
        userId: "ada_ws",
        type: "success",
        data: { message: `m${index}` },
      });
    }
    const ten = await first.collect(isNotification, 10);
    assert.deepEqual(Object.keys(ten[0]!).sort(), [
      "cursor",
      "data",
      "id",
      "message",
      "requiresAck",
      "timestamp",
      "type",
    ]);
    const cursor = ten.at(-1)!.cursor as string;
    await first.close();
    for (let index = 11; index <= 15; index++) {
      await publishOk(server, {
        userId: "ada_ws",
        type: "success",
        data: { message: `m${index}` },
      });
    }
    await using second = (await openNotificationSocket(server, token, cursor)).socket;
    await second.collect(isNotification, 5);
    // Delivery is in order: anything replayed twice would come before this one.
    await publishOk(server, { userId: "ada_ws", type: "success", data: { message: "m16" } });
    await second.next((frame) => isNotification(frame) && frame.data.message === "m16");
    assert.deepEqual(second.frames.filter(isNotification).map((frame) => frame.data.message), [
      "m11",
      "m12",
      "m13",
      "m14",
      "m15",
      "m16",
    ]);
    const bad = await request(`${server.url}/api/notifications/stream?token=x&since=nonsense`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "invalid_cursor");
  },
});

Deno.test({
  name:
    "two tabs of one user (WebSocket and SSE) both get each notification; another user gets none",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ isolates: 2 });
    const ada = await userToken(server, "ada");
    const bob = await userToken(server, "bob");
    await using tabOne = (await openNotificationSocket(server, ada)).socket;
    await using tabTwo = openEventSource(
      `${server.url}/api/notifications/stream?token=${await streamToken(server, ada)}`,
    );
    await tabTwo.collect((record) => record.event === "notification.ready", 1);
    await using other = (await openNotificationSocket(server, bob)).socket;
    const [id] = await publishOk(server, {
      userId: "ada",
      type: "file_uploaded",
      data: { fileId: "f1", fileName: "plan.pdf", size: 1234 },
    });
    const viaSocket = await tabOne.next(isNotification);
    const [viaSse] = await tabTwo.collect((record) => record.data.type === "file_uploaded", 1);
    assert.equal(viaSocket.id, id);
    assert.equal(viaSse!.data.id, id);
    assert.equal(viaSocket.type, "file_uploaded");
    assert.equal(viaSocket.data.fileName, "plan.pdf");
    await publishOk(server, { userId: "bob", type: "success", data: { message: "for bob" } });
    const bobFrame = await other.next(isNotification);
    assert.equal(bobFrame.data.message, "for bob", "bob's connection works");
    assert.equal(other.frames.filter(isNotification).length, 1, "bob got nothing of ada's");
    assert.equal(tabOne.frames.filter(isNotification).length, 1, "ada got nothing of bob's");
  },
});

Deno.test({
  name:
    "history pages newest first with read state; reading on one connection updates the other live",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const token = await userToken(server, "ada_history");
    const ids: string[] = [];
    for (let index = 1; index <= 5; index++) {
      ids.push(
        ...await publishOk(server, {
          userId: "ada_history",
          type: "success",
          data: { message: `m${index}` },
        }),
      );
    }
    const page = await request(`${server.url}/api/notifications?limit=2`, { bearer: token });
    assert.equal(page.status, 200);
    assert.deepEqual(page.body.notifications.map((item: { id: string }) => item.id), [
      ids[4],
      ids[3],
    ]);
    assert.equal(page.body.notifications[0].read, false);
    assert.equal(page.body.unreadCount, 5);
    const next = await request(
      `${server.url}/api/notifications?limit=2&before=${page.body.nextBefore}`,
      { bearer: token },
    );
    assert.deepEqual(next.body.notifications.map((item: { id: string }) => item.id), [
      ids[2],
      ids[1],
    ]);
    assert.equal((await request(`${server.url}/api/notifications`)).status, 401);

    await using tabOne = (await openNotificationSocket(server, token)).socket;
    await using tabTwo = (await openNotificationSocket(server, token)).socket;
    tabOne.send({ type: "read", notificationId: ids[0] });
    const event = await tabTwo.next((frame) => frame.type === "notification.read");
    assert.deepEqual(event.ids, [ids[0]]);
    assert.equal(event.unreadCount, 4);
    assert.equal(event.all, false);
    assert.equal(typeof event.cursor, "string");
    await tabOne.next((frame) => frame.type === "notification.read");

    const httpRead = await request(`${server.url}/api/notifications/${ids[1]}/read`, {
      method: "POST",
      bearer: token,
    });
    assert.deepEqual(httpRead.body, { id: ids[1], read: true, unreadCount: 3 });
    const second = await tabTwo.next((frame) => frame.type === "notification.read");
    assert.equal(second.unreadCount, 3);
    const count = await request(`${server.url}/api/notifications/unread-count`, { bearer: token });
    assert.deepEqual(count.body, { unreadCount: 3 });
    const history = await request(`${server.url}/api/notifications`, { bearer: token });
    assert.deepEqual(
      history.body.notifications.filter((item: { read: boolean }) => item.read)
        .map((item: { id: string }) => item.id),
      [ids[1], ids[0]],
    );
    const all = await request(`${server.url}/api/notifications/read-all`, {
      method: "POST",
      bearer: token,
    });
    assert.equal(all.body.unreadCount, 0);
    const third = await tabOne.next((frame) => frame.type === "notification.read" && frame.all);
    assert.equal(third.unreadCount, 0);
    const missing = await request(`${server.url}/api/notifications/nope/read`, {
      method: "POST",
      bearer: token,
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "notification_not_found");
    tabOne.send({ type: "read" });
    const error = await tabOne.next((frame) => frame.type === "error");
    assert.equal(error.code, "invalid_frame");
  },
});

Deno.test({
  name: "a muted type is kept in history but not pushed; unmuting pushes the next one",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const token = await userToken(server, "ada_muted");
    const mute = await request(`${server.url}/api/notifications/preferences`, {
      method: "PUT",
      bearer: token,
      json: { muted: ["file_uploaded"] },
    });
    assert.equal(mute.status, 200, JSON.stringify(mute.body));
    assert.deepEqual(mute.body, {
      muted: ["file_uploaded"],
      mutedGroups: [],
      // Web Push settings, kept as they were when the body leaves them out.
      push: { when: "away", types: {}, subscriptions: [] },
    });
    const unknown = await request(`${server.url}/api/notifications/preferences`, {
      method: "PUT",
      bearer: token,
      json: { muted: ["party"] },
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, "unknown_type");

    await using socket = (await openNotificationSocket(server, token)).socket;
    const file = { fileId: "f1", fileName: "a.pdf", size: 1 };
    const [mutedId] = await publishOk(server, {
      userId: "ada_muted",
      type: "file_uploaded",
      data: file,
    });
    await publishOk(server, { userId: "ada_muted", type: "success", data: { message: "loud" } });
    const loud = await socket.next(isNotification);
    assert.equal(loud.type, "success", "the muted one was not pushed before the next one");
    const history = await request(`${server.url}/api/notifications`, { bearer: token });
    const stored = history.body.notifications.find((item: { id: string }) => item.id === mutedId);
    assert.equal(stored.muted, true, "a muted one is in the history");
    const log = await request(`${server.url}/api/notifications/log?userId=ada_muted&status=muted`, {
      bearer: "sb_test_api_key_0123456789abcdef",
    });
    assert.deepEqual(log.body.entries.map((entry: { id: string }) => entry.id), [mutedId]);

    await request(`${server.url}/api/notifications/preferences`, {
      method: "PUT",
      bearer: token,
      json: { muted: [] },
    });
    const [pushedId] = await publishOk(server, {
      userId: "ada_muted",
      type: "file_uploaded",
      data: file,
    });
    const pushed = await socket.next(isNotification);
    assert.equal(pushed.id, pushedId);
    assert.equal(pushed.type, "file_uploaded");
    await waitFor(async () => {
      const entries = await request(`${server.url}/api/notifications/log?userId=ada_muted`, {
        bearer: "sb_test_api_key_0123456789abcdef",
      });
      return entries.body.entries.find((entry: { id: string }) => entry.id === pushedId)
        ?.status === "delivered";
    }, { message: "the pushed one is delivered in the audit log" });
  },
});
