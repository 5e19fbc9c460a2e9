/**
 * @module
 * Connects the server refuses reach a plain WebSocket after the upgrade: the
 * socket opens, gets one `error` frame {code, message} and closes with 4000 +
 * the HTTP status (docs/protocol.md, "Refused connections"); `?strict=1` keeps
 * the HTTP answer before the upgrade.
 */
import assert from "node:assert/strict";
import { request, sharedServer, startServer } from "./harness.ts";
import { channelUrl, chatToken, INTEGRATION } from "./chat_fixtures.ts";
import { createSession, signalingUrl } from "./transfer_fixtures.ts";
import { streamToken, userToken } from "./notifications_fixtures.ts";
import { openSocket, refusedSocket, upgradeStatus } from "./ws_client.ts";

/** The server of the tests below that need none of their own (see sharedServer). */
const shared = sharedServer();

function assertRefused(
  refusal: Awaited<ReturnType<typeof refusedSocket>>,
  code: string,
  closeCode: number,
): void {
  assert.equal(refusal.opened, true, `${code}: the socket opens`);
  assert.equal(refusal.frames.length, 1, JSON.stringify(refusal.frames));
  assert.equal(refusal.frames[0]!.type, "error");
  assert.equal(refusal.frames[0]!.code, code);
  assert.equal(typeof refusal.frames[0]!.message, "string");
  assert.equal(refusal.code, closeCode, `${code} closes with ${closeCode}`);
  assert.equal(refusal.reason, code);
}

Deno.test({
  name:
    "transfer signaling: an unknown or closed session and a wrong token are an error frame and 4404/4410/4403",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const session = await createSession(server);
    const unknown = signalingUrl(server, { code: "ZZZZZZ", role: "creator", token: "ts_x" });
    assertRefused(await refusedSocket(unknown), "session_not_found", 4404);
    assert.equal((await upgradeStatus(unknown)).status, 404, "?strict=1 keeps the HTTP status");
    const wrong = signalingUrl(server, { code: session.code, role: "creator", token: "ts_wrong" });
    assertRefused(await refusedSocket(wrong), "invalid_transfer_token", 4403);
    const closed = await request(`${server.url}/api/transfer/close`, {
      method: "POST",
      json: { transferId: session.transferId, token: session.senderToken },
    });
    assert.equal(closed.status, 200, JSON.stringify(closed.body));
    const gone = signalingUrl(server, {
      code: session.code,
      role: "creator",
      token: session.senderToken,
    });
    assertRefused(await refusedSocket(gone), "session_closed", 4410);
  },
});

Deno.test({
  name:
    "tokens and permissions: forged, missing and spent tokens are 4401, no chat:read is 4403, a bad cursor 4400",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const ada = await userToken(server, "ada");
    assertRefused(
      await refusedSocket(`${server.wsUrl}/api/ws/notifications?token=not.a.token`),
      "invalid_token",
      4401,
    );
    assertRefused(await refusedSocket(channelUrl(server, "lobby", null)), "missing_token", 4401);
    const once = await streamToken(server, ada);
    const first = await openSocket(`${server.wsUrl}/api/ws/notifications?token=${once}`);
    await first.close();
    assertRefused(
      await refusedSocket(`${server.wsUrl}/api/ws/notifications?token=${once}`),
      "token_used",
      4401,
    );
    const topicsOnly = await chatToken(server, "ops", { perms: ["topics:read"] });
    assertRefused(
      await refusedSocket(channelUrl(server, "lobby", topicsOnly)),
      "no_read_permission",
      4403,
    );
    assertRefused(
      await refusedSocket(`${server.wsUrl}/api/ws/topics/app:news?token=${ada}`),
      "forbidden",
      4403,
    );
    assertRefused(
      await refusedSocket(channelUrl(server, "lobby", ada, { since: "not-a-cursor!" })),
      "invalid_cursor",
      4400,
    );
  },
});

Deno.test({
  name: "a full channel is an error frame and 4503, which the client may retry",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { CHANNEL_MAX_CONNECTIONS: "1" } });
    const token = await chatToken(server, "ada");
    await using inside = await openSocket(channelUrl(server, "small", token));
    await inside.next((frame) => frame.type === "initial_state");
    assertRefused(await refusedSocket(channelUrl(server, "small", token)), "channel_full", 4503);
  },
});
