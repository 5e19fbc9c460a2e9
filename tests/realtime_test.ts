import assert from "node:assert/strict";
import {
  request,
  sharedServer,
  startServer,
  TEST_API_KEY,
  type TestServer,
  waitFor,
} from "./harness.ts";
import { openSocket, upgradeStatus } from "./ws_client.ts";

/** The server of the tests below that need none of their own (see sharedServer). */
const shared = sharedServer();

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

async function token(server: TestServer, userId: string, perms?: string[]): Promise<string> {
  const response = await request(`${server.url}/api/tokens`, {
    method: "POST",
    bearer: TEST_API_KEY,
    json: { userId, ...(perms ? { perms } : {}) },
  });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.token;
}

async function publish(server: TestServer, topic: string, data: unknown): Promise<number> {
  const response = await request(`${server.url}/api/topics/${topic}/publish`, {
    method: "POST",
    bearer: TEST_API_KEY,
    json: { data },
  });
  assert.equal(response.status, 202, JSON.stringify(response.body));
  return response.body.offset;
}

Deno.test({
  name: "tokens: API key mints user tokens, guests get one, stream tokens work once",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const noKey = await request(`${server.url}/api/tokens`, {
      method: "POST",
      json: { userId: "a" },
    });
    assert.equal(noKey.status, 401);
    assert.equal(noKey.body.error.code, "missing_api_key");
    const wrongKey = await request(`${server.url}/api/tokens`, {
      method: "POST",
      bearer: "sb_wrong_key_wrong_key_wrong",
      json: { userId: "a" },
    });
    assert.equal(wrongKey.body.error.code, "invalid_api_key");
    const badBody = await request(`${server.url}/api/tokens`, {
      method: "POST",
      bearer: TEST_API_KEY,
      json: { userId: "no spaces allowed", perms: ["root"] },
    });
    assert.equal(badBody.status, 400);
    assert.equal(badBody.body.error.code, "invalid_request");
    assert.match(badBody.body.error.message, /userId/);

    const guest = await request(`${server.url}/api/auth/guest`, {
      method: "POST",
      json: { name: "Ada" },
    });
    assert.equal(guest.status, 201);
    assert.match(guest.body.userId, /^guest_/);

    const stream = await request(`${server.url}/api/notifications/stream-token`, {
      method: "POST",
      bearer: guest.body.token,
    });
    assert.equal(stream.status, 201);
    assert.ok(Date.parse(stream.body.expiresAt) - Date.now() <= 60_000);
    const topic = `user:${guest.body.userId}`;
    const first = await fetch(
      `${server.url}/api/topics/${topic}/events?token=${stream.body.token}`,
    );
    assert.equal(first.status, 200);
    await first.body?.cancel();
    const reused = await request(
      `${server.url}/api/topics/${topic}/events?token=${stream.body.token}`,
    );
    assert.equal(reused.status, 401);
    assert.equal(reused.body.error.code, "token_used");
  },
});

Deno.test({
  name: "auth: missing, forged and expired tokens are refused, and user A cannot read user B",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const missing = await request(`${server.url}/api/topics/user:a/events`);
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error.code, "missing_token");
    const forged = await request(
      `${server.url}/api/topics/user:a/events?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.AAAA`,
    );
    assert.equal(forged.body.error.code, "invalid_token");
    const tokenA = await token(server, "alice");
    const otherUser = await request(`${server.url}/api/topics/user:bob/events?token=${tokenA}`);
    assert.equal(otherUser.status, 403);
    assert.equal(
      (await upgradeStatus(`${server.wsUrl}/api/ws/topics/user:bob?token=${tokenA}`)).status,
      403,
    );
    assert.equal((await upgradeStatus(`${server.wsUrl}/api/ws/topics/user:bob`)).status, 401);
    const noPermission = await request(`${server.url}/api/topics/app:news/events?token=${tokenA}`);
    assert.equal(noPermission.status, 403);
    const own = await fetch(`${server.url}/api/topics/user:alice/events?token=${tokenA}`);
    assert.equal(own.status, 200);
    await own.body?.cancel();
  },
});

Deno.test({
  name: "a WebSocket can carry its token as the 'token.<token>' subprotocol instead of the URL",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const reader = await token(server, "subprotocol", ["topics:read"]);
    // From offset 0: the publish below may commit before the server has read the topic's head
    // for this subscription (a busy machine), and must still be delivered.
    const socket = new WebSocket(`${server.wsUrl}/api/ws/topics/app:proto?since=0`, [
      "switchboard",
      `token.${reader}`,
    ]);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    assert.equal(socket.protocol, "switchboard");
    const frame = new Promise<string>((resolve) =>
      socket.onmessage = (event) => resolve(event.data)
    );
    await publish(server, "app:proto", { via: "subprotocol" });
    assert.deepEqual(JSON.parse(await frame).data, { via: "subprotocol" });
    socket.close();
    const refused = await fetch(`${server.url}/api/ws/topics/app:proto?strict=1`, {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
        "sec-websocket-protocol": "switchboard, token.forged",
      },
    });
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
  },
});

Deno.test({
  name: "bad frames each get their documented error and the connection keeps serving",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const reader = await token(server, "writer", ["topics:read", "topics:publish"]);
    await using socket = await openSocket(
      `${server.wsUrl}/api/ws/topics/app:frames?token=${reader}`,
    );
    const expectError = async (frame: unknown, code: string) => {
      socket.send(frame);
      const answer = await socket.next((candidate) => candidate.type === "error");
      assert.equal(answer.code, code, JSON.stringify(answer));
      assert.equal(typeof answer.message, "string");
    };
    await expectError("{not json", "invalid_json");
    await expectError({ type: "dance" }, "unknown_type");
    await expectError({ type: "publish", data: 1, id: 42 }, "invalid_frame");
    await expectError([1, 2], "invalid_frame");
    socket.socket.send(new Uint8Array([1, 2, 3]));
    const binary = await socket.next((frame) => frame.type === "error");
    assert.equal(binary.code, "binary_not_supported");
    socket.send({ type: "ping" });
    await socket.next((frame) => frame.type === "pong");
    socket.send({ type: "publish", data: { ok: true }, id: "p1" });
    const published = await socket.next((frame) => frame.type === "published");
    assert.equal(published.offset, 1);
    // The event may arrive before or after the publish confirmation.
    const [event] = await socket.collect((frame) => frame.type === "event", 1);
    assert.deepEqual(event!.data, { ok: true });
    // The one bad frame that costs the socket: Deno held all of it before the check.
    await expectError({ type: "publish", data: "x".repeat(1024 * 1024) }, "message_too_large");
    assert.equal((await socket.closed).code, 1009);
    assert.equal((await request(`${server.url}/healthz`)).status, 200);
  },
});

Deno.test({
  name: "a frame flood gets rate_limited errors, then the socket is closed with 1008",
  ...INTEGRATION,
  async fn() {
    // One frame a second: the bucket cannot refill (and end the run of rejected frames)
    // while the server works through the flood, however loaded the machine is.
    await using server = await startServer({ env: { CONNECTION_MESSAGES_PER_SECOND: "1" } });
    const reader = await token(server, "flooder", ["topics:read"]);
    await using socket = await openSocket(
      `${server.wsUrl}/api/ws/topics/app:flood?token=${reader}`,
    );
    // 2 frames of burst, then the 51st rejected frame in a row closes the socket.
    for (let index = 0; index < 53; index++) socket.send({ type: "ping" });
    const limited = await socket.next((frame) => frame.code === "rate_limited");
    assert.equal(limited.type, "error");
    const closed = await socket.closed;
    assert.equal(closed.code, 1008);
  },
});

Deno.test({
  name: "SSE: Last-Event-ID resumes exactly after the cursor; a malformed cursor is a 400",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const reader = await token(server, "reader", ["topics:read"]);
    for (let index = 1; index <= 5; index++) await publish(server, "app:sse", { index });
    const history = await request(`${server.url}/api/topics/app:sse/history?limit=10`, {
      bearer: reader,
    });
    const cursorOf3 = history.body.events[2].cursor;
    const response = await fetch(`${server.url}/api/topics/app:sse/events?token=${reader}`, {
      headers: { "last-event-id": cursorOf3 },
    });
    const body = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (
      (text.match(/\nid: /g) ?? []).length < 2 && !text.startsWith("id: ") ||
      !text.includes('index":5')
    ) {
      const { value } = await body.read();
      text += value;
    }
    await body.cancel();
    const ids = [...text.matchAll(/^id: (\S+)$/gm)].map((match) => match[1]);
    assert.equal(ids.length, 2);
    assert.match(text, /data: .*"index":4/);
    assert.match(text, /data: .*"index":5/);
    assert.ok(!text.includes('"index":3'));
    const bad = await request(
      `${server.url}/api/topics/app:sse/events?token=${reader}&since=garbage!`,
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "invalid_cursor");
  },
});

Deno.test({
  name: "metrics sum connections over both isolates and return to zero",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ isolates: 2 });
    const reader = await token(server, "watcher", ["topics:read"]);
    const sockets = await Promise.all(
      Array.from(
        { length: 12 },
        () => openSocket(`${server.wsUrl}/api/ws/topics/app:m?token=${reader}`),
      ),
    );
    const openCount = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const isolates = Number(/^switchboard_isolates (\d+)/m.exec(text)?.[1] ?? 0);
      const open = [...text.matchAll(/^switchboard_connections_open\{[^}]*\} (-?\d+)/gm)]
        .reduce((sum, match) => sum + Number(match[1]), 0);
      return { isolates, open };
    };
    await waitFor(async () => {
      const { isolates, open } = await openCount();
      return isolates === 2 && open === 12;
    }, { timeoutMs: 10_000, message: "12 open connections over 2 isolates" });
    await Promise.all(sockets.map((socket) => socket.close()));
    await waitFor(async () => (await openCount()).open === 0, {
      timeoutMs: 10_000,
      message: "connections back to 0",
    });
  },
});

Deno.test({
  name: "frames that arrived right before a client closed are still handled",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const writer = await token(server, "hasty", ["topics:read", "topics:publish"]);
    const socket = await openSocket(`${server.wsUrl}/api/ws/topics/app:hasty?token=${writer}`);
    for (let index = 0; index < 20; index++) socket.send({ type: "publish", data: { index } });
    await socket.close();
    await waitFor(async () => {
      const history = await request(`${server.url}/api/topics/app:hasty/history?limit=100`, {
        bearer: writer,
      });
      return history.body.events.length === 20;
    }, { message: "all 20 publishes stored after the close" });
  },
});
