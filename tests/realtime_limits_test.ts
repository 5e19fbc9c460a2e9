import assert from "node:assert/strict";
import { request, startServer, TEST_API_KEY, type TestServer, waitFor } from "./harness.ts";
import { type Frame, openSocket, upgradeStatus } from "./ws_client.ts";

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

async function readerToken(server: TestServer): Promise<string> {
  const response = await request(`${server.url}/api/tokens`, {
    method: "POST",
    bearer: TEST_API_KEY,
    json: { userId: "reader", perms: ["topics:read"] },
  });
  return response.body.token;
}

async function metric(server: TestServer, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return [...text.matchAll(pattern)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/**
 * A WebSocket client on a raw TCP socket that completes the handshake and then
 * neither reads nor answers pings: the worst client a server can get.
 */
async function stalledWebSocket(server: TestServer, path: string): Promise<Deno.TcpConn> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const handshake =
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  await connection.write(new TextEncoder().encode(handshake));
  const buffer = new Uint8Array(1024);
  const read = await connection.read(buffer);
  assert.match(new TextDecoder().decode(buffer.subarray(0, read ?? 0)), /^HTTP\/1.1 101/);
  return connection;
}

/** True once the server has closed the TCP connection (reads drain, then end). */
async function serverClosed(connection: Deno.TcpConn, timeoutMs: number): Promise<boolean> {
  const buffer = new Uint8Array(64 * 1024);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const read = await connection.read(buffer);
      if (read === null) return true;
    } catch {
      return true;
    }
  }
  return false;
}

Deno.test({
  name: "a client that stops reading is disconnected as a slow consumer instead of growing memory",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({
      env: { SEND_QUEUE_BYTES: "65536", SLOW_CONSUMER_SECONDS: "1" },
    });
    const token = await readerToken(server);
    const stalled = await stalledWebSocket(server, `/api/ws/topics/app:slow?token=${token}`);
    const payload = "x".repeat(50_000);
    const count = 800; // 40 MB: more than the kernel's socket buffers can absorb on loopback
    // Publish far more than the queue limit while the client reads nothing.
    await Promise.all(
      Array.from(
        { length: count },
        (_, index) =>
          request(`${server.url}/api/topics/app:slow/publish`, {
            method: "POST",
            bearer: TEST_API_KEY,
            json: { data: { index, payload } },
          }),
      ),
    );
    await waitFor(
      async () => await metric(server, /^switchboard_slow_consumers_total\{[^}]*\} (\d+)/gm) >= 1,
      { timeoutMs: 20_000, message: "a slow consumer was counted" },
    );
    // Our side let go of it (the TCP socket itself ends with the ping timeout, tested below).
    await waitFor(
      async () => await metric(server, /^switchboard_connections_open\{[^}]*\} (-?\d+)/gm) === 0,
      { timeoutMs: 10_000, message: "no open connection left" },
    );
    stalled.close();
    // The same reader resumes from the start and gets everything.
    const response = await fetch(`${server.url}/api/topics/app:slow/events?token=${token}&since=0`);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let ids = 0;
    while (ids < count) {
      const { value, done } = await reader.read();
      if (done) break;
      ids += (value.match(/^id: /gm) ?? []).length;
    }
    await reader.cancel();
    assert.equal(ids, count);
  },
});

Deno.test({
  name: "a WebSocket that does not answer pings is closed after IDLE_TIMEOUT_SECONDS",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { IDLE_TIMEOUT_SECONDS: "1" } });
    const token = await readerToken(server);
    const stalled = await stalledWebSocket(server, `/api/ws/topics/app:idle?token=${token}`);
    const started = Date.now();
    assert.ok(await serverClosed(stalled, 8_000), "closed by the server");
    stalled.close();
    assert.ok(Date.now() - started < 8_000);
  },
});

Deno.test({
  name: "SSE streams carry comment heartbeats at the configured interval",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { SSE_HEARTBEAT_SECONDS: "1" } });
    const token = await readerToken(server);
    const response = await fetch(`${server.url}/api/topics/app:beat/events?token=${token}`);
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(response.headers.get("x-accel-buffering"), "no");
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const started = Date.now();
    while ((text.match(/^: heartbeat$/gm) ?? []).length < 2) text += (await reader.read()).value;
    await reader.cancel();
    assert.match(text, /^retry: 1000$/m);
    assert.ok(Date.now() - started < 5_000);
  },
});

Deno.test({
  name:
    "per-address API limits answer 429 rate_limited with Retry-After; API-key callers are exempt",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { REQUESTS_PER_MINUTE: "5" } });
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof request>> | undefined;
    for (let index = 0; index < 8; index++) {
      const response = await request(`${server.url}/api/auth/guest`, {
        method: "POST",
        json: { name: `g${index}` },
      });
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    assert.deepEqual(statuses, [201, 201, 201, 201, 201, 429, 429, 429]);
    assert.equal(limited!.body.error.code, "rate_limited");
    assert.ok(Number(limited!.headers.get("retry-after")) >= 1);
    const backend = await request(`${server.url}/api/tokens`, {
      method: "POST",
      bearer: TEST_API_KEY,
      json: { userId: "still-fine" },
    });
    assert.equal(backend.status, 201);
    assert.ok(
      await metric(server, /^switchboard_rate_limited_total\{bucket="requests"\} (\d+)/gm) >= 3,
    );
  },
});

Deno.test({
  name: "with TRUST_PROXY=on, per-address limits count the X-Forwarded-For address",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({
      env: { REQUESTS_PER_MINUTE: "2", TRUST_PROXY: "on" },
    });
    const guest = (address: string) =>
      request(`${server.url}/api/auth/guest`, {
        method: "POST",
        headers: { "x-forwarded-for": `${address}, 10.0.0.1` },
        json: { name: "proxy" },
      });
    assert.deepEqual(
      [
        (await guest("203.0.113.1")).status,
        (await guest("203.0.113.1")).status,
        (await guest("203.0.113.1")).status,
      ],
      [201, 201, 429],
    );
    assert.equal((await guest("203.0.113.2")).status, 201, "another client behind the proxy");
  },
});

Deno.test({
  name:
    "one user cannot hold a channel: caps per user in a channel, per user and per address answer 429 too_many_connections",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({
      env: {
        CHANNEL_CONNECTIONS_PER_USER: "2",
        CONNECTIONS_PER_USER: "3",
        CONNECTIONS_PER_ADDRESS: "5",
      },
    });
    const mint = async (userId: string) =>
      (await request(`${server.url}/api/tokens`, {
        method: "POST",
        bearer: TEST_API_KEY,
        json: { userId },
      })).body.token as string;
    const url = (channel: string, token: string) =>
      `${server.wsUrl}/api/ws/channels/${channel}?token=${token}`;
    const open = async (channel: string, token: string) => {
      const socket = await openSocket(url(channel, token));
      await socket.next((frame) => frame.type === "initial_state");
      return socket;
    };
    const hog = await mint("hog");
    const first = [await open("lobby", hog), await open("lobby", hog)];
    const inChannel = await upgradeStatus(url("lobby", hog));
    assert.equal(inChannel.status, 429);
    assert.equal((inChannel.body as Frame).error.code, "too_many_connections");
    // Another channel is fine until the user's own cap (3).
    const elsewhere = await open("other", hog);
    assert.equal((await upgradeStatus(url("third", hog))).status, 429, "per-user cap");
    // Other users still get into the channel the hog tried to fill, up to the address cap (5).
    const others = [await open("lobby", await mint("ada")), await open("lobby", await mint("bob"))];
    const crowd = await upgradeStatus(url("lobby", await mint("cy")));
    assert.equal(crowd.status, 429, "per-address cap");
    assert.match((crowd.body as Frame).error.message, /address/);
    // A place given back is free again.
    await first[0]!.close();
    const again = await waitFor(
      async () =>
        (await upgradeStatus(url("lobby", await mint("cy")))).status === 429
          ? null
          : await open("lobby", await mint("cy")),
      { message: "a place frees up" },
    );
    for (const socket of [first[1]!, elsewhere, ...others, again]) await socket.close();
  },
});

Deno.test({
  name: "SSE streams count too: a user's fourth notification stream is refused",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { CONNECTIONS_PER_USER: "3" } });
    const token = (await request(`${server.url}/api/tokens`, {
      method: "POST",
      bearer: TEST_API_KEY,
      json: { userId: "streamer" },
    })).body.token as string;
    const streams: Response[] = [];
    for (let index = 0; index < 3; index++) {
      const response = await fetch(`${server.url}/api/notifications/stream?token=${token}`);
      assert.equal(response.status, 200);
      streams.push(response);
    }
    const refused = await fetch(`${server.url}/api/notifications/stream?token=${token}`);
    assert.equal(refused.status, 429);
    assert.equal((await refused.json()).error.code, "too_many_connections");
    await streams[0]!.body!.cancel();
    const reopened = await waitFor(async () => {
      const response = await fetch(`${server.url}/api/notifications/stream?token=${token}`);
      if (response.status === 200) return response;
      await response.body?.cancel();
      return null;
    }, { message: "a stream place frees up" });
    for (const response of [...streams.slice(1), reopened]) await response.body!.cancel();
  },
});

Deno.test({
  name: "a frame over MAX_MESSAGE_BYTES gets message_too_large and the socket is closed with 1009",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { MAX_MESSAGE_BYTES: "1024" } });
    const token = await readerToken(server);
    const socket = await openSocket(`${server.wsUrl}/api/ws/topics/app:big?token=${token}`);
    socket.send({ type: "ping", padding: "x".repeat(2048) });
    const error = await socket.next((frame) => frame.type === "error");
    assert.equal(error.code, "message_too_large");
    assert.equal((await socket.closed).code, 1009);
  },
});
