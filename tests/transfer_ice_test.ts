import assert from "node:assert/strict";
import { request, startServer, type TestServer, waitFor } from "./harness.ts";
import { createSession, joinSession, metricValue } from "./transfer_fixtures.ts";
import { chatToken } from "./chat_fixtures.ts";
import { turnAllocate } from "./_turn_client.ts";
import { coturnAvailable, startCoturn } from "./_coturn.ts";
import { hmacTurnCredentials } from "../lib/transfer/mod.ts";

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

/** `GET /api/ice-servers` as a user (`ada`, minted with the API key) would call it. */
async function asUser(server: TestServer) {
  return await request(`${server.url}/api/ice-servers`, { bearer: await chatToken(server, "ada") });
}

Deno.test({
  name:
    "ice-servers: TURN credentials only for a live session's token or a user token, 401 without",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({
      env: {
        TURN_URLS: "turn:turn.example.test:3478",
        TURN_SECRET: "turn-secret",
        SWITCHBOARD_GUESTS: "off",
      },
    });
    const url = `${server.url}/api/ice-servers`;
    const refused = (
      response: Awaited<ReturnType<typeof request>>,
      status: number,
      code: string,
    ) => {
      assert.equal(response.status, status, JSON.stringify(response.body));
      assert.equal(response.body.error.code, code);
      assert.ok(!JSON.stringify(response.body).includes("turn:"), "no TURN server in a refusal");
    };
    refused(await request(url), 401, "missing_token");
    refused(await request(url, { bearer: "not-a-token" }), 401, "invalid_token");

    const session = await createSession(server);
    const sender = await request(`${url}?code=${session.code}`, { bearer: session.senderToken });
    assert.equal(sender.status, 200, JSON.stringify(sender.body));
    assert.equal(sender.headers.get("cache-control"), "no-store");
    assert.match(sender.body.iceServers[1].username, /^\d+:/);
    const joined = await joinSession(server, session.code);
    const receiver = await request(`${url}?code=${session.code.toLowerCase()}`, {
      bearer: joined.receiverToken,
    });
    assert.equal(receiver.status, 200, JSON.stringify(receiver.body));
    assert.equal(receiver.body.iceServers[1].urls[0], "turn:turn.example.test:3478");
    // A transfer token counts only with its own session's code.
    refused(await request(url, { bearer: session.senderToken }), 400, "invalid_request");
    const other = await createSession(server);
    refused(
      await request(`${url}?code=${other.code}`, { bearer: session.senderToken }),
      403,
      "invalid_transfer_token",
    );
    // A user token (guests are off, so only one the backend minted) works without a session.
    assert.equal((await asUser(server)).status, 200);
    // An ended session's tokens get nothing more.
    await request(`${server.url}/api/transfer/close`, {
      method: "POST",
      json: { transferId: session.transferId, token: session.senderToken },
    });
    refused(
      await request(`${url}?code=${session.code}`, { bearer: joined.receiverToken }),
      410,
      "session_closed",
    );
  },
});

Deno.test({
  name: "ice-servers: STUN only when no TURN is configured, for anyone (no secret in it)",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({
      env: { STUN_URLS: "stun:127.0.0.1:3478,stun:stun.example.test:19302" },
    });
    const response = await request(`${server.url}/api/ice-servers`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.deepEqual(response.body, {
      iceServers: [{ urls: ["stun:127.0.0.1:3478", "stun:stun.example.test:19302"] }],
      ttlSeconds: 3600,
    });
  },
});

Deno.test({
  name: "ice-servers: static TURN credentials are handed out as configured",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({
      env: {
        TURN_URLS: "turn:turn.example.test:3478?transport=udp,turns:turn.example.test:5349",
        TURN_USERNAME: "switchboard",
        TURN_CREDENTIAL: "correct horse",
      },
    });
    const { body } = await asUser(server);
    assert.deepEqual(body.iceServers, [
      { urls: ["stun:127.0.0.1:3478"] },
      {
        urls: ["turn:turn.example.test:3478?transport=udp", "turns:turn.example.test:5349"],
        username: "switchboard",
        credential: "correct horse",
      },
    ]);
  },
});

Deno.test({
  name:
    "ice-servers: HMAC credentials are accepted by a real coturn; wrong and expired ones are refused",
  ignore: !coturnAvailable(),
  ...INTEGRATION,
  async fn() {
    const secret = `sb-test-${crypto.randomUUID()}`;
    await using coturn = await startCoturn(secret);
    await using server = await startServer({
      env: {
        TURN_URLS: `turn:127.0.0.1:${coturn.port}?transport=udp`,
        TURN_SECRET: secret,
        TURN_TTL_SECONDS: "600",
      },
    });
    const session = await createSession(server);
    const { body } = await request(`${server.url}/api/ice-servers?code=${session.code}`, {
      bearer: session.senderToken,
    });
    assert.equal(body.ttlSeconds, 600);
    const turn = body.iceServers.find((server: { username?: string }) => server.username);
    assert.deepEqual(turn.urls, [`turn:127.0.0.1:${coturn.port}?transport=udp`]);
    const [expiry] = turn.username.split(":");
    const lifetime = Number(expiry) - Date.now() / 1000;
    assert.ok(lifetime > 590 && lifetime <= 601, `credential lifetime ${lifetime} s`);

    const target = { address: "127.0.0.1", port: coturn.port };
    const allocation = await turnAllocate(target, {
      username: turn.username,
      password: turn.credential,
    });
    assert.ok(
      allocation.ok,
      `coturn refused the credentials: ${JSON.stringify(allocation)}\n${coturn.log().slice(-1500)}`,
    );
    assert.equal(allocation.relayed.address, "127.0.0.1");
    assert.ok(allocation.relayed.port >= 49152, `relayed port ${allocation.relayed.port}`);
    assert.ok(allocation.lifetime > 0);
    assert.ok(allocation.integrityValid, "coturn signed its answer with the same key");

    const wrong = await turnAllocate(target, {
      username: turn.username,
      password: `${turn.credential.slice(0, -4)}AAA=`,
    });
    assert.deepEqual([wrong.ok, !wrong.ok && wrong.errorCode], [false, 401]);
    const otherSecret = await hmacTurnCredentials("not-the-secret", { user: "x", ttlSeconds: 600 });
    const forged = await turnAllocate(target, {
      username: otherSecret.username,
      password: otherSecret.credential,
    });
    assert.deepEqual([forged.ok, !forged.ok && forged.errorCode], [false, 401]);
    // Signed with the right secret but past its expiry: coturn checks the time in the name.
    const stale = await hmacTurnCredentials(secret, {
      user: "x",
      ttlSeconds: 60,
      now: Date.now() - 3600_000,
    });
    const expired = await turnAllocate(target, {
      username: stale.username,
      password: stale.credential,
    });
    assert.deepEqual([expired.ok, !expired.ok && expired.errorCode], [false, 401]);
  },
});

Deno.test({
  name: "ice-servers: Cloudflare Calls TURN request, checked against a local fake of its API",
  ...INTEGRATION,
  async fn() {
    // The real API (rtc.live.cloudflare.com) cannot be reached from tests, so this
    // FAKE stands in for it: it records the request and answers like the documented
    // `POST /v1/turn/keys/:id/credentials/generate` (201 {iceServers: {urls, username, credential}}).
    const seen: {
      method: string;
      path: string;
      authorization: string | null;
      type: string | null;
      body: unknown;
    }[] = [];
    let failing = false;
    await using fake = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (req) => {
        seen.push({
          method: req.method,
          path: new URL(req.url).pathname,
          authorization: req.headers.get("authorization"),
          type: req.headers.get("content-type"),
          body: await req.json().catch(() => null),
        });
        if (failing) return new Response("upstream trouble", { status: 503 });
        return Response.json({
          iceServers: {
            urls: ["stun:stun.cloudflare.com:3478", "turn:turn.cloudflare.com:3478?transport=udp"],
            username: `cf-user-${seen.length}`,
            credential: `cf-credential-${seen.length}`,
          },
        }, { status: 201 });
      },
    );
    await using server = await startServer({
      env: {
        TURN_SERVICE_ID: "key_0123abcd",
        TURN_SERVICE_TOKEN: "service-token-secret",
        TURN_SERVICE_URL: `http://127.0.0.1:${fake.addr.port}`,
        TURN_TTL_SECONDS: "900",
      },
    });
    const first = await asUser(server);
    const second = await asUser(server);
    assert.equal(first.status, 200);
    assert.deepEqual(seen, [{
      method: "POST",
      path: "/v1/turn/keys/key_0123abcd/credentials/generate",
      authorization: "Bearer service-token-secret",
      type: "application/json",
      body: { ttl: 900 },
    }], "one request, cached for the second answer");
    assert.deepEqual(first.body.iceServers, [
      { urls: ["stun:127.0.0.1:3478"] },
      {
        urls: ["stun:stun.cloudflare.com:3478", "turn:turn.cloudflare.com:3478?transport=udp"],
        username: "cf-user-1",
        credential: "cf-credential-1",
      },
    ]);
    assert.ok(first.body.ttlSeconds > 890 && first.body.ttlSeconds <= 900);
    assert.deepEqual(second.body.iceServers, first.body.iceServers);
    assert.ok(!JSON.stringify(first.body).includes("service-token-secret"));

    // A service that fails never breaks the endpoint: STUN only, counted, with a short ttl.
    failing = true;
    await using other = await startServer({
      env: {
        TURN_SERVICE_ID: "key_0123abcd",
        TURN_SERVICE_TOKEN: "service-token-secret",
        TURN_SERVICE_URL: `http://127.0.0.1:${fake.addr.port}`,
      },
    });
    const degraded = await asUser(other);
    assert.equal(degraded.status, 200);
    assert.deepEqual(degraded.body, {
      iceServers: [{ urls: ["stun:127.0.0.1:3478"] }],
      ttlSeconds: 60,
    });
    assert.equal(seen.length, 2);
    await waitFor(
      async () => await metricValue(other, "switchboard_turn_service_errors_total") === 1,
      {
        message: "the failure is counted",
      },
    );
  },
});
