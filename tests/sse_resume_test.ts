/**
 * @module
 * The notification stream as a plain `EventSource` (npm `eventsource`) uses it:
 * only `onmessage`, and the library's own reconnect with the same URL (a spent
 * single-use token) and `Last-Event-ID`, across a server restart.
 */
import assert from "node:assert/strict";
import { EventSource } from "eventsource";
import { request, startServer, TEST_API_KEY, type TestServer } from "./harness.ts";
import {
  INTEGRATION,
  openEventSource,
  publishOk,
  streamToken,
  userToken,
} from "./notifications_fixtures.ts";
import { eventIdCursor } from "../lib/transport/mod.ts";

/** An EventSource with nothing but `onmessage`, recording what it gets. */
function onMessageOnly(url: string) {
  const source = new EventSource(url);
  // The test's own signal that the subscription is live (onmessage never sees this event).
  const ready = new Promise((resolve) => source.addEventListener("notification.ready", resolve));
  const messages: { id: string; data: Record<string, unknown> }[] = [];
  const waiters = new Set<() => void>();
  source.onmessage = (event) => {
    messages.push({ id: event.lastEventId, data: JSON.parse(event.data) });
    for (const waiter of waiters) waiter();
  };
  return {
    source,
    ready,
    messages,
    /** Resolves once `count` messages arrived. */
    until(count: number, timeoutMs = 20_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out at ${messages.length}/${count} messages`));
        }, timeoutMs);
        const check = () => {
          if (messages.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

async function streamStatus(
  server: TestServer,
  token: string,
  lastEventId?: string,
): Promise<{ status: number; code?: string }> {
  const response = await fetch(`${server.url}/api/notifications/stream?token=${token}`, {
    headers: lastEventId ? { "Last-Event-ID": lastEventId } : {},
  });
  if (response.status === 200) {
    await response.body?.cancel();
    return { status: 200 };
  }
  return { status: response.status, code: (await response.json()).error.code };
}

Deno.test({
  name: "EventSource with only onmessage gets every notification and no control frame",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const token = await userToken(server, "ada");
    const plain = onMessageOnly(
      `${server.url}/api/notifications/stream?token=${await streamToken(server, token)}`,
    );
    try {
      await plain.ready;
      await publishOk(server, { userId: "ada", type: "success", data: { message: "one" } });
      await publishOk(server, { userId: "ada", type: "error", data: { message: "two" } });
      await request(`${server.url}/api/notifications/read-all`, { method: "POST", bearer: token });
      await publishOk(server, { userId: "ada", type: "success", data: { message: "three" } });
      await plain.until(3);
      assert.deepEqual(plain.messages.map((message) => message.data.type), [
        "success",
        "error",
        "success",
      ], "ready and read frames are named, so onmessage never sees them");
      for (const message of plain.messages) {
        assert.equal(eventIdCursor(message.id), message.data.cursor);
      }
    } finally {
      plain.source.close();
    }

    // ?events=named: each notification named after its type (error gets its own name).
    await using named = openEventSource(
      `${server.url}/api/notifications/stream?events=named&token=${await streamToken(
        server,
        token,
      )}`,
    );
    await named.collect((record) => record.event === "notification.ready", 1);
    await publishOk(server, { userId: "ada", type: "error", data: { message: "four" } });
    const [error] = await named.collect((record) => record.data.data?.message === "four", 1);
    assert.equal(error!.event, "notification.error");
    assert.equal(named.events.filter((record) => record.event === "message").length, 0);
    const bad = await fetch(`${server.url}/api/notifications/stream?events=loud&token=${token}`);
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  },
});

Deno.test({
  name:
    "EventSource's own reconnect with a spent stream token resumes across a restart: nothing lost, nothing twice",
  ...INTEGRATION,
  async fn() {
    let server = await startServer();
    const plainToken = await userToken(server, "ada");
    const url = `${server.url}/api/notifications/stream?token=${await streamToken(
      server,
      plainToken,
    )}`;
    const plain = onMessageOnly(url);
    try {
      await plain.ready;
      for (const message of ["a", "b"]) {
        await publishOk(server, { userId: "ada", type: "success", data: { message } });
      }
      await plain.until(2);
      server = await server.restart();
      // The URL's token is spent: only the signed Last-Event-ID can reopen the stream.
      const spent = await streamStatus(server, new URL(url).searchParams.get("token")!);
      assert.deepEqual(spent, { status: 401, code: "token_used" });
      for (const message of ["c", "d"]) {
        await publishOk(server, { userId: "ada", type: "success", data: { message } });
      }
      await plain.until(4);
      await publishOk(server, { userId: "ada", type: "success", data: { message: "e" } });
      await plain.until(5);
      assert.deepEqual(
        plain.messages.map((message) => (message.data.data as { message: string }).message),
        ["a", "b", "c", "d", "e"],
      );
    } finally {
      plain.source.close();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "a resume by Last-Event-ID needs the id's MAC for the token's user, a recent id and no revocation",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const ada = await userToken(server, "ada");
    const bob = await userToken(server, "bob");
    await publishOk(server, { userId: "ada", type: "success", data: { message: "x" } });
    await publishOk(server, { userId: "bob", type: "success", data: { message: "y" } });
    const idOf = async (token: string) => {
      const source = openEventSource(
        `${server.url}/api/notifications/stream?token=${await streamToken(server, token)}`,
      );
      const [ready] = await source.collect((record) => record.event === "notification.ready", 1);
      source.close();
      return ready!.id;
    };
    const adaId = await idOf(ada);
    const bobId = await idOf(bob);
    const spent = await streamToken(server, ada);
    assert.equal((await streamStatus(server, spent)).status, 200);

    assert.deepEqual(await streamStatus(server, spent), { status: 401, code: "token_used" });
    assert.equal((await streamStatus(server, spent, adaId)).status, 200, "same user: resumes");
    assert.equal((await streamStatus(server, spent, bobId)).status, 401, "another user's id");
    const [cursor, sent] = adaId.split(".");
    const forged = `${cursor}.${sent}.AAAAAAAAAAAAAAAAAAAAAA`;
    assert.equal((await streamStatus(server, spent, forged)).status, 401, "a forged MAC");
    const old = `${cursor}.${(Math.floor(Date.now() / 1000) - 2 * 86400).toString(36)}.x`;
    assert.equal((await streamStatus(server, spent, old)).status, 401, "not signed at that time");

    const revoked = await request(`${server.url}/api/tokens/revoke`, {
      method: "POST",
      bearer: TEST_API_KEY,
      json: { userId: "ada" },
    });
    assert.ok(revoked.status < 300, JSON.stringify(revoked.body));
    assert.deepEqual(await streamStatus(server, spent, adaId), {
      status: 401,
      code: "token_revoked",
    });
  },
});
