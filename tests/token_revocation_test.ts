/**
 * `POST /api/tokens/revoke`: a user's tokens issued before the revocation are
 * refused (401 `token_revoked`) on every kind of endpoint, on a real server.
 */
import assert from "node:assert/strict";
import { request, startServer, TEST_API_KEY } from "./harness.ts";
import { upgradeStatus } from "./ws_client.ts";
import { channelUrl, chatToken, connectChat, INTEGRATION } from "./chat_fixtures.ts";

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
