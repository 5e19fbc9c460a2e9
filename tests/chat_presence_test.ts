import assert from "node:assert/strict";
import { startServer, waitFor } from "./harness.ts";
import { chatToken, connectChat, connectSpread, INTEGRATION } from "./chat_fixtures.ts";
import { openKv } from "../lib/kv/mod.ts";

/** How many presence entries (connections) `userId` has in chat channel `channelId`. */
async function presenceEntries(kvPath: string, channelId: string, userId: string) {
  const kv = await openKv(kvPath);
  try {
    let count = 0;
    for await (const _ of kv.list({ prefix: ["presence", `channel:${channelId}`, userId] })) {
      count += 1;
    }
    return count;
  } finally {
    kv.close();
  }
}

Deno.test({
  name: "presence: joins and leaves, status changes, and a second tab keeps a user online",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ isolates: 2 });
    const watcherToken = await chatToken(server, "watcher", { name: "Watcher" });
    const adaToken = await chatToken(server, "ada", { name: "Ada" });
    const watcher = await connectChat(server, "room", watcherToken);
    // Two tabs of Ada, on different isolates.
    const [tab1, tab2] = await connectSpread(server, "room", [adaToken, adaToken]);
    assert.notEqual(tab1!.isolate, tab2!.isolate);
    const joined = await watcher.socket.next((frame) => frame.type === "user_joined");
    const { joinedAt, ...user } = joined.user;
    assert.deepEqual(user, { userId: "ada", username: "Ada", status: "online", connections: 1 });
    assert.ok(Math.abs(joinedAt - Date.now()) < 60_000, `joinedAt ${joinedAt}`);
    // initial_state lists each online user with when they joined (the chat design's shape).
    for (const entry of tab2!.initial.onlineUsers) {
      assert.ok(Math.abs(entry.joinedAt - joinedAt) < 5_000, JSON.stringify(entry));
    }
    // The announced status is Ada's as a whole: away only once every tab is away.
    tab2!.socket.send({ type: "presence", status: "away" });
    const stillOnline = await watcher.socket.next((frame) => frame.type === "presence");
    assert.deepEqual(stillOnline, {
      type: "presence",
      userId: "ada",
      username: "Ada",
      status: "online",
    });
    tab1!.socket.send({ type: "presence", status: "away" });
    const away = await watcher.socket.next((frame) => frame.type === "presence");
    assert.deepEqual(away, { type: "presence", userId: "ada", username: "Ada", status: "away" });

    await tab1!.socket.close();
    // The server took tab 1's place away (and decided whether Ada is gone right after).
    await waitFor(async () => await presenceEntries(server.kvPath, "room", "ada") === 1, {
      message: "tab 1 left",
    });
    assert.equal(
      watcher.socket.frames.filter((frame) => frame.type === "user_disconnected").length,
      0,
      "one tab left, the other keeps Ada online",
    );
    const probe = await connectChat(server, "room", watcherToken);
    assert.deepEqual(
      probe.initial.onlineUsers.map((user: { userId: string; connections: number }) =>
        `${user.userId}×${user.connections}`
      ),
      ["ada×1", "watcher×2"],
    );
    await tab2!.socket.close();
    const left = await watcher.socket.next((frame) => frame.type === "user_disconnected");
    assert.deepEqual(left, { type: "user_disconnected", userId: "ada", username: "Ada" });
    assert.equal(
      watcher.socket.frames.filter((frame) => frame.type === "user_joined").length,
      1,
      "the second tab did not announce a second join",
    );
    await probe.socket.close();
    await watcher.socket.close();
  },
});

Deno.test({
  name: "presence: the users of a killed server process go offline within the TTL",
  ...INTEGRATION,
  async fn() {
    // 3 s: heartbeats every second, so a survivor slowed down on a busy machine does not miss
    // the two in a row that would let its own users' entries expire.
    const TTL_MS = 3000;
    const env = { PRESENCE_TTL_SECONDS: String(TTL_MS / 1000) };
    await using survivor = await startServer({ env });
    await using doomed = await startServer({ kvPath: survivor.kvPath, env });
    const bobToken = await chatToken(doomed, "bob", { name: "Bob" });
    const adaToken = await chatToken(survivor, "ada", { name: "Ada" });
    const bob = await connectChat(doomed, "shared", bobToken);
    const ada = await connectChat(survivor, "shared", adaToken);
    assert.deepEqual(
      ada.initial.onlineUsers.map((user: { userId: string }) => user.userId),
      ["ada", "bob"],
    );
    const killedAt = Date.now();
    await doomed.kill(); // SIGKILL: no goodbye, no cleanup
    const left = await ada.socket.next(
      (frame) => frame.type === "user_disconnected" && frame.userId === "bob",
      15_000,
    );
    const elapsed = Date.now() - killedAt;
    assert.deepEqual(left, { type: "user_disconnected", userId: "bob", username: "Bob" });
    // TTL + one sweep interval (TTL/2) + slack for a busy machine: within the TTL's order, not never.
    assert.ok(elapsed < TTL_MS * 1.5 + 3000, `went offline after ${elapsed} ms`);
    const again = await connectChat(survivor, "shared", adaToken);
    assert.deepEqual(
      again.initial.onlineUsers.map((user: { userId: string }) => user.userId),
      ["ada"],
    );
    await bob.socket.closed;
    await ada.socket.close();
    await again.socket.close();
  },
});
