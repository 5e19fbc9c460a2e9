/**
 * The HTTP API's validation, authentication and error codes, in-process
 * (`app.request()` on `:memory:` KV, no socket): each documented error code that
 * a plain request can reach, with its status and the `{error:{code,message}}`
 * envelope.
 */
import assert from "node:assert/strict";
import { issueToken } from "../../lib/identity/mod.ts";
import type { Server } from "../../server.ts";
import { API_KEY, errorCode, json, startInProcess } from "./_app.ts";

/** One request and the error it must get. */
interface Case {
  name: string;
  request: (tokens: Tokens) => Promise<Request> | Request;
  status: number;
  code: string;
  /** A header the answer must carry. */
  header?: string;
}

interface Tokens {
  /** A user token with the default permissions (chat, notifications; no topics). */
  user: string;
  /** A user token with `topics:read` only. */
  readOnly: string;
  guest: string;
  /** A single-use stream token. */
  stream: () => Promise<string>;
  /** A token whose signature is right but whose expiry has passed. */
  expired: string;
}

const BASE = "http://localhost";

function get(path: string, bearer?: string, headers: Record<string, string> = {}): Request {
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  return new Request(`${BASE}${path}`, { headers });
}

function send(method: string, path: string, body: unknown, bearer?: string): Request {
  return new Request(`${BASE}${path}`, json(method, body, bearer));
}

async function mintTokens(server: Server): Promise<Tokens> {
  const mint = async (body: unknown) => {
    const response = await server.app.request(send("POST", "/api/tokens", body, API_KEY));
    assert.equal(response.status, 201, await response.clone().text());
    return (await response.json()).token as string;
  };
  const guest = await server.app.request(send("POST", "/api/auth/guest", { name: "Gus" }));
  const user = await mint({ userId: "ada" });
  return {
    user,
    readOnly: await mint({ userId: "bob", perms: ["topics:read"] }),
    guest: (await guest.json()).token,
    stream: async () => {
      const response = await server.app.request(
        send("POST", "/api/notifications/stream-token", {}, user),
      );
      return (await response.json()).token;
    },
    expired: (await issueToken(server.secrets.secret, { userId: "old", ttlSeconds: -60 })).token,
  };
}

const CASES: Case[] = [
  // Bodies
  {
    name: "a body that is not JSON",
    request: () => send("POST", "/api/auth/guest", "{not json"),
    status: 400,
    code: "invalid_json",
  },
  {
    name: "JSON nested deeper than 128 levels",
    request: () => send("POST", "/api/auth/guest", "[".repeat(200) + "]".repeat(200)),
    status: 400,
    code: "invalid_json",
  },
  {
    name: "a missing field",
    request: () => send("POST", "/api/auth/guest", {}),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "an unknown field",
    request: () => send("POST", "/api/auth/guest", { name: "Ada", admin: true }),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "a field of the wrong type",
    request: () => send("POST", "/api/tokens", { userId: 42 }, API_KEY),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "a body past the endpoint's 64 KiB",
    request: () => send("POST", "/api/auth/guest", { name: "x".repeat(70 * 1024) }),
    status: 413,
    code: "body_too_large",
  },
  {
    name: "an invalid query value",
    request: ({ readOnly }) => get("/api/topics/app:news/history?limit=0", readOnly),
    status: 400,
    code: "invalid_request",
  },
  // The API key
  {
    name: "an API-key endpoint without a token",
    request: () => send("POST", "/api/tokens", { userId: "ada" }),
    status: 401,
    code: "missing_api_key",
  },
  {
    name: "an API-key endpoint with a wrong key",
    request: () => send("POST", "/api/tokens", { userId: "ada" }, "sb_wrong_key_0123456789"),
    status: 401,
    code: "invalid_api_key",
  },
  {
    name: "an API-key endpoint with a user token",
    request: ({ user }) => send("POST", "/api/tokens/revoke", { userId: "ada" }, user),
    status: 401,
    code: "invalid_api_key",
  },
  {
    name: "a user token asked with the admin permission",
    request: () => send("POST", "/api/tokens", { userId: "ada", perms: ["admin"] }, API_KEY),
    status: 400,
    code: "permission_not_grantable",
  },
  // User tokens
  {
    name: "a user endpoint without a token",
    request: () => get("/api/notifications"),
    status: 401,
    code: "missing_token",
  },
  {
    name: "a malformed token",
    request: () => get("/api/notifications", "not-a-token"),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "a forged token",
    request: ({ user }) => get("/api/notifications", user.slice(0, -4) + "AAAA"),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "an expired token",
    request: ({ expired }) => get("/api/notifications", expired),
    status: 401,
    code: "expired_token",
  },
  {
    name: "a stream token on a non-stream endpoint",
    request: async ({ stream }) => get("/api/notifications", await stream()),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "a token without the permission",
    request: ({ user }) => get("/api/topics/app:news/history", user),
    status: 403,
    code: "forbidden",
  },
  {
    name: "a WebSocket endpoint without Upgrade",
    request: ({ user }) => get(`/api/ws/topics/app:news?token=${user}`),
    status: 426,
    code: "upgrade_required",
  },
  // Topics
  {
    name: "publishing to a topic that is not app:",
    request: () => send("POST", "/api/topics/user:ada/publish", { data: 1 }, API_KEY),
    status: 403,
    code: "forbidden",
  },
  {
    name: "a topic name without a kind",
    request: ({ user }) => get("/api/topics/news/history", user),
    status: 400,
    code: "invalid_topic",
  },
  {
    name: "an event over 60 KiB",
    request: () =>
      send("POST", "/api/topics/app:news/publish", { data: "x".repeat(61 * 1024) }, API_KEY),
    status: 413,
    code: "event_too_large",
  },
  {
    name: "a Last-Event-ID that is not a cursor",
    request: ({ user }) =>
      get(`/api/topics/app:news/events?token=${user}`, undefined, {
        "last-event-id": "not a cursor",
      }),
    status: 400,
    code: "invalid_cursor",
  },
  // Live transfer
  {
    name: "joining an unknown code",
    request: () => send("POST", "/api/transfer/join", { code: "ZZZZZZ" }),
    status: 404,
    code: "session_not_found",
  },
  {
    name: "closing an unknown session",
    request: () => send("POST", "/api/transfer/close", { transferId: "01UNKNOWN", token: "nope" }),
    status: 404,
    code: "session_not_found",
  },
  // Link mode
  {
    name: "an upload that is not a file",
    request: () =>
      new Request(`${BASE}/api/upload`, {
        method: "POST",
        headers: { "content-type": "multipart/form-data" },
        body: "x",
      }),
    status: 400,
    code: "invalid_multipart",
  },
  {
    name: "metadata of an unknown file",
    request: () => get("/api/files/01HZZZZZZZZZZZZZZZZZZZZZZZ"),
    status: 404,
    code: "not_found",
  },
  {
    name: "deleting without the delete token",
    request: () =>
      new Request(`${BASE}/api/download/01HZZZZZZZZZZZZZZZZZZZZZZZ`, { method: "DELETE" }),
    status: 401,
    code: "delete_token_required",
  },
  // Notifications
  {
    name: "publishing a notification to nobody",
    request: () => send("POST", "/api/notifications/publish", { type: "success" }, API_KEY),
    status: 400,
    code: "missing_user",
  },
  {
    name: "publishing a notification of an unknown type",
    request: () =>
      send("POST", "/api/notifications/publish", { userId: "ada", type: "nope" }, API_KEY),
    status: 400,
    code: "unknown_type",
  },
  {
    name: "publishing notification data that does not fit its type",
    request: () =>
      send(
        "POST",
        "/api/notifications/publish",
        { userId: "ada", type: "success", data: { message: 42 } },
        API_KEY,
      ),
    status: 400,
    code: "invalid_data",
  },
  {
    name: "publishing to more users than allowed",
    request: () =>
      send(
        "POST",
        "/api/notifications/publish",
        { userIds: Array.from({ length: 1001 }, (_, i) => `u${i}`), type: "success" },
        API_KEY,
      ),
    status: 400,
    code: "too_many_recipients",
  },
  {
    name: "reading an unknown notification",
    request: ({ user }) =>
      send("POST", "/api/notifications/01HZZZZZZZZZZZZZZZZZZZZZZZ/read", {}, user),
    status: 404,
    code: "notification_not_found",
  },
  // Chat
  {
    name: "a channel name with capitals",
    request: ({ user }) => get("/api/channels/Lobby!/messages", user),
    status: 400,
    code: "invalid_channel",
  },
  {
    name: "a private channel without a grant",
    request: ({ guest }) => get("/api/channels/private:team/messages", guest),
    status: 403,
    code: "channel_forbidden",
  },
  {
    name: "chat history without chat:read",
    request: ({ readOnly }) => get("/api/channels/lobby/messages", readOnly),
    status: 403,
    code: "no_read_permission",
  },
  // Anything else
  {
    name: "an unknown API path",
    request: () => get("/api/nothing-here"),
    status: 404,
    code: "not_found",
  },
  {
    name: "links asked for from an untrusted Host",
    request: () => new Request("http://evil.example/api/transfer/create", json("POST", {})),
    status: 400,
    code: "invalid_host",
  },
];

Deno.test("each documented error code reachable by a plain request comes with its status", async (t) => {
  await using server = await startInProcess();
  const tokens = await mintTokens(server);
  for (const testCase of CASES) {
    await t.step(`${testCase.code}: ${testCase.name}`, async () => {
      const response = await server.app.request(await testCase.request(tokens));
      assert.equal(response.status, testCase.status, await response.clone().text());
      assert.equal(response.headers.get("content-type")?.split(";")[0], "application/json");
      assert.equal(await errorCode(response), testCase.code);
    });
  }
});

Deno.test("a revoked token and a spent stream token are refused", async () => {
  await using server = await startInProcess();
  const tokens = await mintTokens(server);
  const revoke = await server.app.request(
    send("POST", "/api/tokens/revoke", { userId: "ada" }, API_KEY),
  );
  assert.equal(revoke.status, 200);
  const revoked = await server.app.request(get("/api/notifications", tokens.user));
  assert.equal(revoked.status, 401);
  assert.equal(await errorCode(revoked), "token_revoked");

  const stream = await server.app.request(
    send("POST", "/api/tokens", { userId: "eve" }, API_KEY),
  );
  const eve = (await stream.json()).token;
  const streamToken = (await (await server.app.request(
    send("POST", "/api/notifications/stream-token", {}, eve),
  )).json()).token;
  const opened = await server.app.request(get(`/api/notifications/stream?token=${streamToken}`));
  assert.equal(opened.status, 200);
  await opened.body?.cancel();
  const again = await server.app.request(get(`/api/notifications/stream?token=${streamToken}`));
  assert.equal(again.status, 401);
  assert.equal(await errorCode(again), "token_used");
});

Deno.test("guests_disabled, rate_limited and the metrics token follow the configuration", async () => {
  await using server = await startInProcess({
    SWITCHBOARD_GUESTS: "off",
    REQUESTS_PER_MINUTE: "2",
    METRICS_TOKEN: "metrics_token_0123456789",
  });
  const guest = await server.app.request(send("POST", "/api/auth/guest", { name: "Ada" }));
  assert.equal(guest.status, 403);
  assert.equal(await errorCode(guest), "guests_disabled");
  await (await server.app.request(get("/api/nothing-here"))).body?.cancel();
  const limited = await server.app.request(get("/api/nothing-here"));
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get("retry-after")) > 0, "Retry-After says when");
  assert.equal(await errorCode(limited), "rate_limited");
  // The API key is never limited.
  const keyed = await server.app.request(send("POST", "/api/tokens", { userId: "ada" }, API_KEY));
  assert.equal(keyed.status, 201);
  await keyed.body?.cancel();

  const unauthenticated = await server.app.request(get("/metrics"));
  assert.equal(unauthenticated.status, 401);
  assert.match(unauthenticated.headers.get("www-authenticate") ?? "", /^Bearer realm="metrics"/);
  assert.equal(await errorCode(unauthenticated), "missing_token");
  const wrong = await server.app.request(get("/metrics", "not_the_metrics_token_000"));
  assert.equal(await errorCode(wrong), "invalid_token");
  const scraped = await server.app.request(get("/metrics", "metrics_token_0123456789"));
  assert.equal(scraped.status, 200);
  assert.match(await scraped.text(), /switchboard_/);
});

Deno.test("a body that stalls gets 408 body_timeout; one that breaks off gets 400 body_aborted", async () => {
  // The shortest BODY_TIMEOUT_SECONDS: the one wait on the clock, and it is the server's.
  await using server = await startInProcess({ BODY_TIMEOUT_SECONDS: "1" });
  const postGuest = (body: ReadableStream<Uint8Array>) =>
    server.app.request(send("POST", "/api/auth/guest", body));
  // Never ends: the server gives up on it (and cancels it).
  const timedOut = await postGuest(
    new ReadableStream({
      start: (controller) => controller.enqueue(new TextEncoder().encode('{"name":')),
    }),
  );
  assert.equal(timedOut.status, 408);
  assert.equal(await errorCode(timedOut), "body_timeout");

  const aborted = await postGuest(
    new ReadableStream({ pull: (controller) => controller.error(new Error("connection reset")) }),
  );
  assert.equal(aborted.status, 400);
  assert.equal(await errorCode(aborted), "body_aborted");
});
