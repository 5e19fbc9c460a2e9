/**
 * Private channels: a channel under CHAT_PRIVATE_PREFIX opens only for a token
 * with a grant (exact or pattern), never for a guest, and a refused client
 * learns nothing: no history, no presence, no typing. Real server, real sockets.
 */
import assert from "node:assert/strict";
import { request, startServer, TEST_API_KEY } from "./harness.ts";
import { upgradeStatus } from "./ws_client.ts";
import { channelUrl, chatToken, connectChat, history, INTEGRATION } from "./chat_fixtures.ts";

function code(result: { body: unknown }): string {
  return (result.body as { error: { code: string } }).error.code;
}

Deno.test({
  name: "private channels: grant, no grant, pattern grant, guest, history, presence and typing",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const member = await chatToken(server, "ada", { channels: ["private:team"] });
    const patterned = await chatToken(server, "bob", { channels: ["private:team-*"] });
    const outsider = await chatToken(server, "eve");
    const guest = await request(`${server.url}/api/auth/guest`, {
      method: "POST",
      json: { name: "Gus" },
    });
    assert.equal(guest.status, 201);

    // Grant: ada opens #private:team, is alone there, and talks.
    const ada = await connectChat(server, "private:team", member);
    assert.deepEqual(ada.initial.onlineUsers.map((user: { userId: string }) => user.userId), [
      "ada",
    ]);
    ada.socket.send({ type: "message", content: "team only", clientMessageId: "t1" });
    await ada.socket.next((frame) => frame.type === "message");

    // No grant, a grant for other channels, a guest: 403 on the upgrade, before presence.
    for (const token of [outsider, patterned, guest.body.token]) {
      const refused = await upgradeStatus(channelUrl(server, "private:team", token));
      assert.equal(refused.status, 403);
      assert.equal(code(refused), "channel_forbidden");
    }
    // Ada saw no one come or go, and nobody's typing reached anyone.
    ada.socket.send({ type: "typing", isTyping: true });

    // Pattern grant: bob opens every #private:team-…, and sees nothing of #private:team.
    const bob = await connectChat(server, "private:team-a", patterned);
    assert.equal(bob.initial.messages.length, 0);
    assert.equal(
      (await connectChat(server, "private:team-b", patterned)).initial.channelId,
      "private:team-b",
    );
    const other = await upgradeStatus(channelUrl(server, "private:ops", patterned));
    assert.equal(other.status, 403);

    // Guests and grant-less tokens keep the public channels.
    const lobby = await connectChat(server, "lobby", guest.body.token);
    assert.equal(lobby.initial.you.userId, guest.body.userId);

    // History: 403 without a grant, the messages with one.
    const denied = await request(`${server.url}/api/channels/private:team/messages`, {
      bearer: outsider,
    });
    assert.equal(denied.status, 403);
    assert.equal(code(denied), "channel_forbidden");
    const guestHistory = await request(`${server.url}/api/channels/private:team/messages`, {
      bearer: guest.body.token,
    });
    assert.equal(guestHistory.status, 403);
    const allowed = await history(server, "private:team", member);
    assert.equal(allowed.status, 200);
    assert.deepEqual(allowed.body.messages.map((message: { content: string }) => message.content), [
      "team only",
    ]);

    // Ada sends one more message: her socket got exactly her own frames, nobody joined or typed.
    ada.socket.send({ type: "message", content: "still alone", clientMessageId: "t2" });
    await ada.socket.collect((frame) => frame.type === "message", 2);
    const seen = ada.socket.frames.map((frame) => frame.type);
    assert.ok(!seen.includes("user_joined"), seen.join());
    assert.ok(!seen.includes("typing"), seen.join());
    // The others never saw the private channel's typing or messages.
    for (const client of [bob, lobby]) {
      assert.ok(
        !client.socket.frames.some((frame) =>
          frame.type === "typing" || frame.message?.channelId === "private:team"
        ),
      );
    }

    // A stream token carries its user token's grants, and only those.
    const stream = await request(`${server.url}/api/notifications/stream-token`, {
      method: "POST",
      bearer: member,
    });
    const viaStream = await connectChat(server, "private:team", stream.body.token);
    assert.equal(viaStream.initial.you.userId, "ada");
    const outsiderStream = await request(`${server.url}/api/notifications/stream-token`, {
      method: "POST",
      bearer: outsider,
    });
    assert.equal(
      (await upgradeStatus(channelUrl(server, "private:team", outsiderStream.body.token))).status,
      403,
    );
    // The chat page chats as a guest: a private channel is refused there too.
    assert.equal(
      await fetch(`${server.url}/chat/private:team`).then(async (response) => {
        await response.body?.cancel();
        return response.status;
      }),
      403,
    );
    for (const client of [ada, bob, lobby, viaStream]) await client.socket.close();
  },
});

Deno.test({
  name: "grants are minted with the API key only, and bad grants are 400",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    for (const channels of [["Private:Team"], ["private:*x"], ["a/b"], Array(101).fill("x")]) {
      const response = await request(`${server.url}/api/tokens`, {
        method: "POST",
        bearer: TEST_API_KEY,
        json: { userId: "ada", channels },
      });
      assert.equal(response.status, 400, JSON.stringify(channels));
      assert.equal(code(response), "invalid_request");
    }
    const guest = await request(`${server.url}/api/auth/guest`, {
      method: "POST",
      json: { name: "Gus", channels: ["private:team"] },
    });
    assert.equal(guest.status, 400);
    // A different private prefix is honoured.
    await using custom = await startServer({ env: { CHAT_PRIVATE_PREFIX: "staff-" } });
    const plain = await chatToken(custom, "ada");
    assert.equal((await upgradeStatus(channelUrl(custom, "staff-room", plain))).status, 403);
    const open = await connectChat(custom, "private:now-public", plain);
    await open.socket.close();
  },
});
