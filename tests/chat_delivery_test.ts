import assert from "node:assert/strict";
import { startServer } from "./harness.ts";
import {
  chatToken,
  connectChat,
  connectSpread,
  contents,
  history,
  INTEGRATION,
} from "./chat_fixtures.ts";

for (const broadcastChannel of ["on", "off"]) {
  Deno.test({
    name: `three clients on two isolates (BroadcastChannel ${broadcastChannel}): ` +
      "every message reaches all three once, in one order; typing only the others",
    ...INTEGRATION,
    fn: () => threeClients(broadcastChannel),
  });
}

/** The three-client scenario; `broadcastChannel: "off"` leaves only the kv.watch path (Deploy). */
async function threeClients(broadcastChannel: string): Promise<void> {
  await using server = await startServer({
    isolates: 2,
    env: { BROADCAST_CHANNEL: broadcastChannel },
  });
  const tokens = await Promise.all(
    ["ada", "bob", "cyd"].map((user) => chatToken(server, user, { name: user.toUpperCase() })),
  );
  const clients = await connectSpread(server, "triad", tokens);
  const [ada, bob, cyd] = clients as [typeof clients[0], typeof clients[0], typeof clients[0]];
  assert.equal(new Set(clients.map((client) => client.isolate)).size, 2);
  assert.deepEqual(
    cyd.initial.onlineUsers.map((user: { userId: string }) => user.userId),
    ["ada", "bob", "cyd"],
  );

  // Everyone talks at once: 3 × 5 messages from both isolates.
  for (let round = 0; round < 5; round++) {
    for (const [index, client] of clients.entries()) {
      client.socket.send({
        type: "message",
        content: `${"abc"[index]}${round}`,
        clientMessageId: `r${round}`,
      });
    }
  }
  // Each message exactly once is checked at the end, when a later one has arrived everywhere.
  const orders = await Promise.all(clients.map((client) => contents(client, 15)));
  for (const prefix of ["a", "b", "c"]) {
    assert.deepEqual(
      orders[0]!.filter((content) => content.startsWith(prefix)),
      [0, 1, 2, 3, 4].map((round) => `${prefix}${round}`),
      "each sender's messages are stored in the order it sent them",
    );
  }
  assert.deepEqual(orders[1], orders[0], "bob sees ada's order");
  assert.deepEqual(orders[2], orders[0], "cyd sees ada's order");
  const stored = await history(server, "triad", tokens[0]!, "?limit=100");
  assert.deepEqual(
    stored.body.messages.map((message: { content: string }) => message.content),
    orders[0],
    "the stored order is the delivered order",
  );
  const offsets = ada.messages().map((frame) => Number(frame.cursor.split("-")[1]));
  assert.deepEqual(offsets, Array.from({ length: 15 }, (_, index) => index + 1));

  ada.socket.send({ type: "typing", isTyping: true });
  for (const other of [bob, cyd]) {
    const typing = await other.socket.next((frame) => frame.type === "typing");
    assert.deepEqual(typing, {
      type: "typing",
      userId: "ada",
      username: "ADA",
      isTyping: true,
      expiresInMs: 5000,
    });
  }
  // Sending ends the typing, for the others too.
  ada.socket.send({ type: "message", content: "done" });
  for (const other of [bob, cyd]) {
    await other.socket.next((frame) => frame.type === "typing" && frame.isTyping === false);
  }
  for (const client of clients) {
    await client.socket.collect((frame) => frame.message?.content === "done", 1);
    // Delivery keeps the channel's order: a second copy of any of the 15 came before "done".
    const ids = client.messages().map((frame) => frame.message.id);
    assert.equal(ids.length, 16, "each message exactly once, the sender's own included");
    assert.equal(new Set(ids).size, 16);
  }
  assert.equal(ada.socket.frames.filter((frame) => frame.type === "typing").length, 0);
  const after = await history(server, "triad", tokens[0]!, "?limit=100");
  assert.equal(after.body.messages.length, 16, "typing is not in the history");
  await Promise.all(clients.map((client) => client.socket.close()));
}

Deno.test({
  name: "a client that was away for 20 messages gets exactly those by sync and by ?since=",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ isolates: 2 });
    const adaToken = await chatToken(server, "ada");
    const bobToken = await chatToken(server, "bob");
    const bob = await connectChat(server, "replay", bobToken);
    const ada = await connectChat(server, "replay", adaToken);
    ada.socket.send({ type: "message", content: "before the break" });
    const [lastSeen] = await ada.socket.collect((frame) => frame.type === "message", 1);
    await ada.socket.close();

    const expected = Array.from({ length: 20 }, (_, index) => `while away ${index + 1}`);
    for (const content of expected) bob.socket.send({ type: "message", content });
    await contents(bob, 21);

    // Reconnect (any isolate) and ask: exactly the 20, in order.
    const back = await connectChat(server, "replay", adaToken);
    back.socket.send({ type: "sync", afterMessageId: lastSeen!.message.id });
    const sync = await back.socket.next((frame) => frame.type === "sync");
    assert.deepEqual(
      sync.messages.map((message: { content: string }) => message.content),
      expected,
    );
    assert.equal(sync.hasMore, false);

    // Resume by cursor instead: the same 20 arrive as message frames, nothing else.
    const resumed = await connectChat(server, "replay", adaToken, { since: lastSeen!.cursor });
    assert.equal(resumed.initial.resumed, true);
    assert.deepEqual(resumed.initial.messages, []);
    assert.deepEqual(await contents(resumed, 20), expected);
    // Delivery keeps the channel's order: anything more from before came before this one.
    bob.socket.send({ type: "message", content: "after the resume" });
    await resumed.socket.collect((frame) => frame.message?.content === "after the resume", 1);
    assert.equal(resumed.messages().length, 21);
    for (const client of [bob, back, resumed]) await client.socket.close();
  },
});

Deno.test({
  name: "a resend with the same clientMessageId is stored once, on either isolate",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ isolates: 2 });
    const adaToken = await chatToken(server, "ada");
    const watcherToken = await chatToken(server, "watcher", { perms: ["chat:read"] });
    const [first, second] = await connectSpread(server, "resend", [adaToken, adaToken]);
    const watcher = await connectChat(server, "resend", watcherToken);
    const frame = { type: "message", content: "exactly once", clientMessageId: "offline-1" };
    first!.socket.send(frame);
    const original = await first!.socket.next((candidate) => candidate.type === "message");
    // The "reconnected" tab sends it again, from the other isolate, twice.
    second!.socket.send(frame);
    second!.socket.send(frame);
    const [confirmation] = await second!.socket.collect((candidate) => candidate.duplicate, 2);
    assert.equal(confirmation!.message.id, original.message.id);
    assert.equal(confirmation!.cursor, undefined);
    // Both resends are handled; the channel's order puts a stored copy before this one.
    second!.socket.send({ type: "message", content: "after", clientMessageId: "offline-2" });
    await watcher.socket.collect((candidate) => candidate.message?.content === "after", 1);
    assert.deepEqual(watcher.messages().map((message) => message.message.content), [
      "exactly once",
      "after",
    ]);
    const stored = await history(server, "resend", adaToken);
    assert.equal(stored.body.messages.length, 2);
    assert.equal(stored.body.messages[0].clientMessageId, "offline-1");
    for (const client of [first!, second!, watcher]) await client.socket.close();
  },
});
