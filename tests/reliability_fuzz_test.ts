/**
 * Fuzzing: 10,000 random and mutated frames per WebSocket endpoint and random
 * bodies per JSON endpoint. Only documented answers are allowed (error frames
 * with a snake_case code, 4xx JSON errors), the server stays up, and the state
 * of the system is intact afterwards.
 */
import assert from "node:assert/strict";
import { request, startServer, TEST_API_KEY, type TestServer } from "./harness.ts";
import { type Frame, openSocket } from "./ws_client.ts";
import { testSeed, withSeed } from "./seeded_random.ts";

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };
const FRAMES_PER_ENDPOINT = 10_000;
/** The same inputs every run unless TEST_SEED is set; each test draws its own stream of it. */
const SEED = testSeed(0);

const STRINGS = [
  "",
  " ",
  "a",
  "\u0000",
  "\r\n",
  "<script>alert(1)</script>",
  "💥".repeat(50),
  "x".repeat(5000),
  "__proto__",
  "constructor",
  "../../etc/passwd",
  "' OR 1=1 --",
  "\ud800",
];

function randomValue(random: () => number, depth = 0): unknown {
  const pick = Math.floor(random() * (depth > 3 ? 6 : 9));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return [0, -1, 1e308, -0, 2 ** 53 + 1, 3.14][Math.floor(random() * 6)];
    case 3:
    case 4:
      return STRINGS[Math.floor(random() * STRINGS.length)];
    case 5:
      return Math.floor(random() * 1e6);
    case 6:
      return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let index = 0; index < Math.floor(random() * 5); index++) {
        object[String(randomValue(random, 5)).slice(0, 20)] = randomValue(random, depth + 1);
      }
      return object;
    }
  }
}

/** A frame: random JSON, a valid frame with a field mutated, or not JSON at all. */
function fuzzFrame(random: () => number, valid: Frame[]): string | Uint8Array {
  const roll = random();
  if (roll < 0.05) return crypto.getRandomValues(new Uint8Array(1 + Math.floor(random() * 64)));
  if (roll < 0.15) return JSON.stringify(randomValue(random)).slice(0, Math.floor(random() * 40));
  if (roll < 0.35) return JSON.stringify(randomValue(random));
  const base = structuredClone(valid[Math.floor(random() * valid.length)]!);
  const keys = Object.keys(base);
  const key = keys[Math.floor(random() * keys.length)]!;
  const mutation = random();
  if (mutation < 0.3) delete base[key];
  else if (mutation < 0.8) base[key] = randomValue(random);
  else base[String(randomValue(random, 5)).slice(0, 12)] = randomValue(random);
  if (key === "type" && random() < 0.3) base.type = STRINGS[Math.floor(random() * STRINGS.length)];
  return JSON.stringify(base);
}

/** Sends the fuzz frames and checks every answer; returns the error codes seen. */
function fuzzSocket(url: string | (() => Promise<string>), valid: Frame[], stream: number) {
  return withSeed(SEED, (random) => fuzzSocketWith(url, valid, random), stream);
}

async function fuzzSocketWith(
  url: string | (() => Promise<string>),
  valid: Frame[],
  random: () => number,
): Promise<Set<string>> {
  const codes = new Set<string>();
  let sent = 0;
  while (sent < FRAMES_PER_ENDPOINT) {
    const socket = await openSocket(typeof url === "string" ? url : await url());
    const batch = Math.min(2000, FRAMES_PER_ENDPOINT - sent);
    for (let index = 0; index < batch; index++) {
      const frame = fuzzFrame(random, valid);
      socket.socket.send(frame);
    }
    sent += batch;
    socket.send({ type: "ping" });
    await socket.next((frame) => frame.type === "pong", 30_000);
    for (const frame of socket.frames) {
      assert.equal(typeof frame.type, "string", JSON.stringify(frame));
      if (frame.type !== "error") continue;
      assert.match(frame.code, /^[a-z][a-z0-9_]*$/, JSON.stringify(frame));
      assert.equal(typeof frame.message, "string");
      assert.ok(
        !/\bat \w+ \(|Error:|stack/i.test(frame.message),
        `no stack traces: ${frame.message}`,
      );
      codes.add(frame.code);
    }
    assert.equal(socket.socket.readyState, WebSocket.OPEN, "the connection survived");
    await socket.close();
  }
  return codes;
}

async function mint(server: TestServer, userId: string, perms?: string[]): Promise<string> {
  const response = await request(`${server.url}/api/tokens`, {
    method: "POST",
    bearer: TEST_API_KEY,
    json: { userId, ...(perms ? { perms } : {}) },
  });
  return response.body.token;
}

function fuzzServer() {
  return startServer({
    env: { CONNECTION_MESSAGES_PER_SECOND: "1000000", REQUESTS_PER_MINUTE: "1000000" },
  });
}

Deno.test({
  name: "fuzz: topic WebSocket answers 10,000 hostile frames with documented errors only",
  ...INTEGRATION,
  async fn() {
    await using server = await fuzzServer();
    const token = await mint(server, "fuzzer", ["topics:read"]);
    const codes = await fuzzSocket(`${server.wsUrl}/api/ws/topics/app:fuzz?token=${token}`, [
      { type: "publish", data: { a: 1 }, id: "x" },
    ], 1);
    assert.ok(codes.has("invalid_json") && codes.has("unknown_type") && codes.has("forbidden"));
    // Without topics:publish nothing was stored.
    assert.equal(
      (await request(`${server.url}/api/topics/app:fuzz/history`, { bearer: token })).body.events
        .length,
      0,
    );
    assert.equal((await request(`${server.url}/healthz`)).status, 200);
  },
});

Deno.test({
  name: "fuzz: notifications WebSocket answers 10,000 hostile frames with documented errors only",
  ...INTEGRATION,
  async fn() {
    await using server = await fuzzServer();
    const token = await mint(server, "fuzz-user");
    await request(`${server.url}/api/notifications/publish`, {
      method: "POST",
      bearer: TEST_API_KEY,
      json: { userId: "fuzz-user", type: "success", data: { message: "before the fuzz" } },
    });
    const codes = await fuzzSocket(`${server.wsUrl}/api/ws/notifications?token=${token}`, [
      { type: "ack", notificationId: "01J00000000000000000000000" },
      { type: "read", notificationId: "01J00000000000000000000000" },
    ], 2);
    assert.ok(codes.size > 0);
    const history = await request(`${server.url}/api/notifications`, { bearer: token });
    assert.equal(history.status, 200);
    assert.equal(history.body.notifications.length, 1);
  },
});

Deno.test({
  name: "fuzz: signaling WebSocket answers 10,000 hostile frames with documented errors only",
  ...INTEGRATION,
  async fn() {
    await using server = await fuzzServer();
    const created = await request(`${server.url}/api/transfer/create`, {
      method: "POST",
      json: { files: [{ name: "a.txt", size: 1, type: "text/plain" }] },
    });
    assert.equal(created.status, 201);
    const { code, senderToken } = created.body;
    const codes = await fuzzSocket(
      `${server.wsUrl}/api/ws/file-share-session?code=${code}&role=creator&token=${senderToken}`,
      [
        { type: "offer", offer: { type: "offer", sdp: "v=0" } },
        {
          type: "ice-candidate",
          candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host" },
        },
        { type: "ready" },
      ],
      3,
    );
    assert.ok(codes.size > 0);
    // The session still works: a receiver can join (unless a fuzzed cancel closed it, which is allowed).
    const join = await request(`${server.url}/api/transfer/join`, {
      method: "POST",
      json: { code },
    });
    assert.ok([200, 410].includes(join.status), JSON.stringify(join.body));
  },
});

Deno.test({
  name: "fuzz: random bodies to every JSON endpoint get 4xx JSON errors, never a 5xx",
  ...INTEGRATION,
  async fn() {
    await using server = await fuzzServer();
    const user = await mint(server, "body-fuzzer");
    const endpoints: Array<{ path: string; bearer?: string }> = [
      { path: "/api/tokens", bearer: TEST_API_KEY },
      { path: "/api/auth/guest" },
      { path: "/api/notifications/stream-token", bearer: user },
      { path: "/api/notifications/publish", bearer: TEST_API_KEY },
      { path: "/api/topics/app:fuzz/publish", bearer: TEST_API_KEY },
      { path: "/api/transfer/create" },
      { path: "/api/transfer/join" },
      { path: "/api/transfer/close" },
    ];
    await withSeed(SEED, async (random) => {
      for (const endpoint of endpoints) {
        for (let index = 0; index < 150; index++) {
          const roll = random();
          const body = roll < 0.2
            ? STRINGS[Math.floor(random() * STRINGS.length)]!
            : JSON.stringify(randomValue(random));
          const response = await fetch(`${server.url}${endpoint.path}`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              ...(endpoint.bearer ? { authorization: `Bearer ${endpoint.bearer}` } : {}),
            },
            body,
          });
          const text = await response.text();
          assert.ok(
            response.status < 500,
            `${endpoint.path} answered ${response.status} to ${body.slice(0, 80)}: ${text}`,
          );
          if (response.status >= 400) {
            const parsed = JSON.parse(text);
            assert.match(parsed.error.code, /^[a-z][a-z0-9_]*$/);
            assert.equal(typeof parsed.error.message, "string");
          }
        }
      }
      assert.equal((await request(`${server.url}/healthz`)).status, 200);
    }, 4);
  },
});
