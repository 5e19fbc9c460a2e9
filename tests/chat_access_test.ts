import assert from "node:assert/strict";
import { request, startServer, waitFor } from "./harness.ts";
import { upgradeStatus } from "./ws_client.ts";
import {
  channelUrl,
  chatToken,
  connectChat,
  connectSpread,
  history,
  INTEGRATION,
} from "./chat_fixtures.ts";

Deno.test({
  name: "permissions: no token 401, no chat:read 403, read-only connects but cannot send",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const missing = await upgradeStatus(channelUrl(server, "lobby", null));
    assert.equal(missing.status, 401);
    assert.equal((missing.body as { error: { code: string } }).error.code, "missing_token");
    const forged = await upgradeStatus(channelUrl(server, "lobby", "not.a.token"));
    assert.equal(forged.status, 401);
    const topicsOnly = await chatToken(server, "topics-only", { perms: ["topics:read"] });
    const noRead = await upgradeStatus(channelUrl(server, "lobby", topicsOnly));
    assert.equal(noRead.status, 403);
    assert.equal((noRead.body as { error: { code: string } }).error.code, "no_read_permission");
    const badName = await upgradeStatus(channelUrl(server, "Not A Channel", topicsOnly));
    assert.equal(badName.status, 400);
    assert.equal((badName.body as { error: { code: string } }).error.code, "invalid_channel");

    const readOnly = await chatToken(server, "reader", { perms: ["chat:read"] });
    const reader = await connectChat(server, "lobby", readOnly);
    assert.deepEqual(reader.initial.you, { userId: "reader", username: "reader", canWrite: false });
    reader.socket.send({ type: "message", content: "may I?", clientMessageId: "ro-1" });
    const refused = await reader.socket.next((frame) => frame.type === "error");
    assert.equal(refused.code, "no_write_permission");
    assert.equal(refused.clientMessageId, "ro-1");

    // A non-browser client authenticates with a header; it can write and the reader reads it.
    const writerToken = await chatToken(server, "writer");
    const viaHeader = new WebSocket(channelUrl(server, "lobby", null), {
      headers: { authorization: `Bearer ${writerToken}` },
    } as unknown as string[]);
    await new Promise((resolve, reject) => {
      viaHeader.onopen = resolve;
      viaHeader.onerror = reject;
    });
    viaHeader.send(JSON.stringify({ type: "message", content: "from a backend" }));
    const delivered = await reader.socket.next((frame) => frame.type === "message");
    assert.equal(delivered.message.content, "from a backend");
    viaHeader.close();

    // A single-use stream token opens a channel once.
    const stream = await request(`${server.url}/api/notifications/stream-token`, {
      method: "POST",
      bearer: writerToken,
    });
    assert.equal(stream.status, 201);
    const viaStream = await connectChat(server, "lobby", stream.body.token);
    assert.equal(viaStream.initial.you.userId, "writer");
    const reused = await upgradeStatus(channelUrl(server, "lobby", stream.body.token));
    assert.equal(reused.status, 401);
    assert.equal((reused.body as { error: { code: string } }).error.code, "token_used");
    await viaStream.socket.close();
    assert.equal((await history(server, "lobby", readOnly)).body.messages.length, 1);
    await reader.socket.close();
  },
});

Deno.test({
  name: "a full channel answers 503 channel_full, counted over both isolates, until a place frees",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({
      isolates: 2,
      env: { CHANNEL_MAX_CONNECTIONS: "2" },
    });
    const token = await chatToken(server, "crowd");
    const [first, second] = await connectSpread(server, "small", [token, token]);
    assert.notEqual(first!.isolate, second!.isolate);
    // Several attempts, so both isolates are asked.
    for (let attempt = 0; attempt < 4; attempt++) {
      const refused = await upgradeStatus(channelUrl(server, "small", token));
      assert.equal(refused.status, 503);
      assert.equal((refused.body as { error: { code: string } }).error.code, "channel_full");
    }
    // Other channels are not affected.
    const elsewhere = await connectChat(server, "other", token);
    await second!.socket.close();
    const third = await waitFor(
      async () =>
        (await upgradeStatus(channelUrl(server, "small", token))).status === 503
          ? null
          : await connectChat(server, "small", token).catch(() => null),
      { timeoutMs: 5000, message: "a place frees up" },
    );
    assert.equal(third.initial.type, "initial_state");
    for (const client of [first!, third, elsewhere]) await client.socket.close();
  },
});

Deno.test({
  name: "bad messages get their documented codes and the connection keeps working",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const token = await chatToken(server, "ada");
    const ada = await connectChat(server, "checks", token);
    const expectError = async (frame: unknown, code: string) => {
      const before = ada.socket.frames.length;
      ada.socket.send(frame);
      const error = await ada.socket.next((
        candidate,
        index = ada.socket.frames.indexOf(candidate),
      ) => candidate.type === "error" && index >= before);
      assert.equal(error.code, code, JSON.stringify(error));
      assert.equal(typeof error.message, "string");
      return error;
    };
    const empty = await expectError(
      { type: "message", content: "  \n ", clientMessageId: "e" },
      "empty_message",
    );
    assert.equal(empty.clientMessageId, "e");
    await expectError({ type: "message", content: "x".repeat(4001) }, "message_too_long");
    await expectError({ type: "message", content: "beep\u0007" }, "invalid_characters");
    await expectError({ type: "message", content: 42 }, "invalid_frame");
    await expectError(
      { type: "message", content: "hi", threadId: "not-a-message" },
      "invalid_frame",
    );
    await expectError(
      { type: "sync", afterMessageId: "01ARZ3NDEKTSV4RRFFQ69G5FAV" },
      "unknown_message",
    );
    await expectError({ type: "presence", status: "dancing" }, "invalid_frame");
    await expectError({ type: "shout" }, "unknown_type");
    await expectError("{oops", "invalid_json");
    ada.socket.send({ type: "ping" });
    await ada.socket.next((frame) => frame.type === "pong");
    ada.socket.send({ type: "message", content: "line one\n\tline two " });
    const ok = await ada.socket.next((frame) => frame.type === "message");
    assert.equal(ok.message.content, "line one\n\tline two");
    const stored = await history(server, "checks", token);
    assert.deepEqual(stored.body.messages.map((message: { content: string }) => message.content), [
      "line one\n\tline two",
    ]);
    await ada.socket.close();
  },
});

Deno.test({
  name: "history pages back from the newest page to the first message; bad input is refused",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { CONNECTION_MESSAGES_PER_SECOND: "500" } });
    const token = await chatToken(server, "ada");
    const ada = await connectChat(server, "pages", token);
    for (let index = 1; index <= 75; index++) {
      ada.socket.send({ type: "message", content: `m${index}` });
    }
    await ada.socket.collect((frame) => frame.type === "message", 75);
    const again = await connectChat(server, "pages", token);
    assert.equal(again.initial.messages.length, 50);
    assert.equal(again.initial.messages[0].content, "m26");
    assert.equal(again.initial.messages[49].content, "m75");
    let before: string | null = again.initial.historyBefore;
    const older: string[] = [];
    while (before) {
      const page = await history(server, "pages", token, `?before=${before}&limit=10`);
      assert.equal(page.status, 200);
      older.unshift(...page.body.messages.map((message: { content: string }) => message.content));
      before = page.body.nextBefore;
    }
    assert.deepEqual(older, Array.from({ length: 25 }, (_, index) => `m${index + 1}`));
    // A message id works as `before` too.
    const byId = await history(
      server,
      "pages",
      token,
      `?before=${again.initial.messages[0].id}&limit=3`,
    );
    assert.deepEqual(byId.body.messages.map((message: { content: string }) => message.content), [
      "m23",
      "m24",
      "m25",
    ]);
    assert.equal((await request(`${server.url}/api/channels/pages/messages`)).status, 401);
    const noRead = await chatToken(server, "outsider", { perms: [] });
    assert.equal((await history(server, "pages", noRead)).status, 403);
    assert.equal(
      (await history(server, "pages", token, "?before=garbage!")).body.error.code,
      "invalid_cursor",
    );
    assert.equal((await history(server, "pages", token, "?limit=1000")).status, 400);
    assert.equal((await history(server, "Pages", token)).body.error.code, "invalid_channel");
    for (const client of [ada, again]) await client.socket.close();
  },
});
