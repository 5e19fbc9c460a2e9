/**
 * `POST /api/tokens/revoke`: a user's tokens issued before the revocation are
 * refused (401 `token_revoked`) on every kind of endpoint, on a real server.
 */
import assert from "node:assert/strict";
import { request, startServer, TEST_API_KEY } from "./harness.ts";
import { upgradeStatus } from "./ws_client.ts";
import { channelUrl, chatToken, connectChat, connectSpread, INTEGRATION } from "./chat_fixtures.ts";

/** A refusal with 401 `token_revoked`. */
function assertRevoked(response: { status: number; body: unknown }, where: string): void {
  assert.equal(response.status, 401, `${where}: ${JSON.stringify(response.body)}`);
  assert.equal((response.body as { error: { code: string } }).error.code, "token_revoked", where);
}

Deno.test({
  name: "revoking a user's tokens refuses the older ones over HTTP, SSE and WebSocket; " +
    "newer tokens and other users are not affected",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const revoke = (json: unknown, bearer = TEST_API_KEY) =>
      request(`${server.url}/api/tokens/revoke`, { method: "POST", bearer, json });
    const old = await chatToken(server, "ada");
    const other = await chatToken(server, "bob");
    const minted = await request(`${server.url}/api/notifications/stream-token`, {
      method: "POST",
      bearer: old,
    });
    assert.equal((await request(`${server.url}/api/notifications`, { bearer: old })).status, 200);

    // Only the API key revokes, and a bad body is a clear 400.
    const withUserToken = await revoke({ userId: "ada" }, old);
    assert.equal(withUserToken.status, 401);
    assert.equal(withUserToken.body.error.code, "invalid_api_key");
    for (const body of [{}, { userId: "not a user id" }, { userId: "ada", extra: 1 }]) {
      const bad = await revoke(body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.equal(bad.body.error.code, "invalid_request");
    }
    const before = Date.now();
    const revoked = await revoke({ userId: "ada" });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.equal(revoked.body.userId, "ada");
    assert.ok(Date.parse(revoked.body.notBefore) >= before - 1000, revoked.body.notBefore);

    assertRevoked(await request(`${server.url}/api/notifications`, { bearer: old }), "HTTP");
    assertRevoked(
      await request(`${server.url}/api/notifications/stream-token`, {
        method: "POST",
        bearer: old,
      }),
      "minting a stream token",
    );
    assertRevoked(
      await request(`${server.url}/api/notifications/stream?token=${old}`),
      "SSE stream",
    );
    assertRevoked(await upgradeStatus(channelUrl(server, "lobby", old)), "chat WebSocket");
    assertRevoked(
      await upgradeStatus(`${server.wsUrl}/api/ws/notifications?token=${minted.body.token}`),
      "a stream token minted before the revocation",
    );

    const fresh = await chatToken(server, "ada");
    assert.equal((await request(`${server.url}/api/notifications`, { bearer: fresh })).status, 200);
    const chat = await connectChat(server, "lobby", fresh);
    assert.equal(chat.initial.you.userId, "ada");
    await chat.socket.close();
    assert.equal((await request(`${server.url}/api/notifications`, { bearer: other })).status, 200);
  },
});

Deno.test({
  name: "revoking closes the user's open sockets (4401) and streams on every isolate; " +
    "other users' stay open",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ isolates: 2 });
    const old = await chatToken(server, "ada");
    const [first, second] = await connectSpread(server, "lobby", [old, old]);
    const bob = await connectChat(server, "lobby", await chatToken(server, "bob"));
    const stream = await fetch(`${server.url}/api/notifications/stream?token=${old}`);
    assert.equal(stream.status, 200);
    const streamText = stream.text();

    assert.equal(
      (await request(`${server.url}/api/tokens/revoke`, {
        method: "POST",
        bearer: TEST_API_KEY,
        json: { userId: "ada" },
      })).status,
      200,
    );
    for (const client of [first!, second!]) {
      const error = await client.socket.next((frame) => frame.type === "error");
      assert.equal(error.code, "token_revoked");
      assert.equal((await client.socket.closed).code, 4401, `isolate ${client.isolate}`);
    }
    assert.match(await streamText, /token_revoked/, "the SSE stream says why, then ends");
    bob.socket.send({ type: "ping" });
    await bob.socket.next((frame) => frame.type === "pong");
    await bob.socket.close();
  },
});
