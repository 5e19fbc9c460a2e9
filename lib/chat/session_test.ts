import assert from "node:assert/strict";
import { MemoryBroker, parseCursor } from "../realtime/mod.ts";
import { MemoryPresence } from "../presence/mod.ts";
import type { Connection } from "../transport/mod.ts";
import {
  type ChatClientFrame,
  type ChatParticipant,
  type ChatServerFrame,
  ChatService,
  ChatSession,
} from "./mod.ts";

type Frame = ChatServerFrame & Record<string, unknown>;

/** An in-memory connection that records what a session sends. */
class RecordingConnection implements Connection {
  readonly id = crypto.randomUUID();
  readonly kind = "websocket" as const;
  readonly slowConsumerMs = 10_000;
  readonly congested = false;
  readonly settled = Promise.resolve();
  readonly frames: Frame[] = [];
  #closed = new AbortController();
  #listeners = new Set<() => void>();

  get signal(): AbortSignal {
    return this.#closed.signal;
  }

  send(frame: object | string): boolean {
    if (this.#closed.signal.aborted) return false;
    this.frames.push(typeof frame === "string" ? JSON.parse(frame) : structuredClone(frame));
    for (const listener of this.#listeners) listener();
    return true;
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    this.#closed.abort();
  }

  /** Resolves with the first recorded frame matching `predicate` after index `from`. */
  next(predicate: (frame: Frame) => boolean, timeoutMs = 2000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.frames.find(predicate);
        if (!found) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching frame; got ${JSON.stringify(this.frames.slice(-5))}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
      check();
    });
  }

  ofType(type: string): Frame[] {
    return this.frames.filter((frame) => frame.type === type);
  }
}

function setup() {
  const broker = new MemoryBroker();
  const presence = new MemoryPresence(broker);
  const chat = new ChatService({ broker, presence, typingThrottleMs: 0 });
  const sessions: Array<{ session: ChatSession; connection: RecordingConnection }> = [];
  async function connect(
    participant: Partial<ChatParticipant> & { userId: string },
    options: { channelId?: string; since?: string } = {},
  ) {
    const connection = new RecordingConnection();
    const session = new ChatSession(chat, connection, {
      channelId: options.channelId ?? "lobby",
      participant: { username: participant.userId, canWrite: true, ...participant },
      since: options.since ? parseCursor(options.since) : null,
    });
    await session.open();
    sessions.push({ session, connection });
    return {
      connection,
      send: (frame: ChatClientFrame) => session.handle(frame),
      leave: async () => {
        connection.close();
        await session.close();
      },
    };
  }
  return {
    chat,
    broker,
    connect,
    async [Symbol.asyncDispose]() {
      for (const { session, connection } of sessions) {
        connection.close();
        await session.close();
      }
      chat[Symbol.dispose]();
    },
  };
}

/** The `content` of each message frame `connection` got so far. */
function contents(connection: RecordingConnection): string[] {
  return connection.ofType("message").map((frame) =>
    (frame.message as { content: string }).content
  );
}

Deno.test("ChatSession: initial_state, then a message reaches every session including the sender", async () => {
  await using world = setup();
  await world.chat.send("lobby", { userId: "old", username: "Old" }, { content: "before" });
  const ada = await world.connect({ userId: "ada", username: "Ada" });
  const bob = await world.connect({ userId: "bob", username: "Bob" });
  const initial = ada.connection.frames[0]!;
  assert.equal(initial.type, "initial_state");
  assert.deepEqual(
    (initial.messages as Array<{ content: string }>).map((message) => message.content),
    ["before"],
  );
  assert.equal(parseCursor(initial.cursor as string)?.offset, 1);
  assert.equal(initial.resumed, false);
  assert.deepEqual(initial.you, { userId: "ada", username: "Ada", canWrite: true });
  await ada.send({ type: "message", content: "hello", clientMessageId: "c1" });
  for (const client of [ada, bob]) {
    const frame = await client.connection.next((frame) => frame.type === "message");
    assert.equal((frame.message as { content: string }).content, "hello");
    assert.equal(parseCursor(frame.cursor as string)?.offset, 2);
  }
  // Messages arrive in offset order: a second copy of "hello" would come before this one.
  await bob.send({ type: "message", content: "after" });
  await ada.connection.next((frame) =>
    frame.type === "message" && frame.cursor !== undefined &&
    parseCursor(frame.cursor as string)?.offset === 3
  );
  assert.deepEqual(contents(ada.connection), ["hello", "after"], "once for the sender");
});

Deno.test("ChatSession: a resend is stored once and confirmed to the sender only", async () => {
  await using world = setup();
  const ada = await world.connect({ userId: "ada" });
  const bob = await world.connect({ userId: "bob" });
  await ada.send({ type: "message", content: "hi", clientMessageId: "same" });
  await ada.send({ type: "message", content: "hi", clientMessageId: "same" });
  const confirmation = await ada.connection.next((frame) => frame.duplicate === true);
  assert.equal(confirmation.cursor, undefined, "a confirmation does not move the cursor");
  // Messages arrive in offset order: a stored resend would come before this one.
  await ada.send({ type: "message", content: "after", clientMessageId: "next" });
  await bob.connection.next((frame) =>
    frame.type === "message" && (frame.message as { content: string }).content === "after"
  );
  assert.deepEqual(contents(bob.connection), ["hi", "after"]);
  assert.equal((await world.broker.history("channel:lobby")).length, 2);
});

Deno.test("ChatSession: typing reaches the others only and is not stored", async () => {
  await using world = setup();
  const ada = await world.connect({ userId: "ada", username: "Ada" });
  const adaSecondTab = await world.connect({ userId: "ada", username: "Ada" });
  const bob = await world.connect({ userId: "bob" });
  await ada.send({ type: "typing", isTyping: true });
  const typing = await bob.connection.next((frame) => frame.type === "typing");
  assert.deepEqual(typing, {
    type: "typing",
    userId: "ada",
    username: "Ada",
    isTyping: true,
    expiresInMs: 5000,
  });
  // Each listener takes typing in the order it was sent: once bob's typing reached
  // ada's tabs, so would ada's own have, had it been sent to them.
  await bob.send({ type: "typing", isTyping: true });
  for (const tab of [ada, adaSecondTab]) {
    await tab.connection.next((frame) => frame.type === "typing" && frame.userId === "bob");
    assert.deepEqual(
      tab.connection.ofType("typing").map((frame) => frame.userId),
      ["bob"],
      "not to the typist's tabs",
    );
  }
  await ada.send({ type: "message", content: "sent" });
  await bob.connection.next((frame) => frame.type === "typing" && frame.isTyping === false);
  assert.deepEqual(
    (await world.broker.history("channel:lobby")).map((event) => event.data),
    [(await bob.connection.next((frame) => frame.type === "message")).message],
  );
});

Deno.test("ChatSession: presence joins, a second tab keeps a user online, the last tab leaves", async () => {
  await using world = setup();
  const watcher = await world.connect({ userId: "watcher" });
  const tab1 = await world.connect({ userId: "ada", username: "Ada" });
  const joined = await watcher.connection.next((frame) => frame.type === "user_joined");
  const { joinedAt, ...user } = joined.user as Record<string, unknown>;
  assert.deepEqual(user, { userId: "ada", username: "Ada", status: "online", connections: 1 });
  assert.equal(typeof joinedAt, "number");
  const tab2 = await world.connect({ userId: "ada", username: "Ada" });
  const initial = tab2.connection.frames[0]!;
  const online = initial.onlineUsers as Array<{ userId: string; joinedAt: number }>;
  assert.equal(online.find((entry) => entry.userId === "ada")?.joinedAt, joinedAt);
  assert.deepEqual(
    (initial.onlineUsers as Array<{ userId: string; connections: number }>)
      .map((user) => `${user.userId}×${user.connections}`),
    ["ada×2", "watcher×1"],
  );
  await tab1.leave();
  await tab2.send({ type: "presence", status: "away" });
  const away = await watcher.connection.next((frame) => frame.type === "presence");
  assert.deepEqual(away, { type: "presence", userId: "ada", username: "Ada", status: "away" });
  assert.equal(watcher.connection.ofType("user_disconnected").length, 0);
  await tab2.leave();
  const left = await watcher.connection.next((frame) => frame.type === "user_disconnected");
  assert.deepEqual(left, { type: "user_disconnected", userId: "ada", username: "Ada" });
  assert.equal(watcher.connection.ofType("user_joined").length, 1);
});

Deno.test("ChatSession: read-only users get no_write_permission and the session keeps working", async () => {
  await using world = setup();
  const reader = await world.connect({ userId: "reader", canWrite: false });
  await reader.send({ type: "message", content: "let me in", clientMessageId: "x1" });
  const refused = await reader.connection.next((frame) => frame.type === "error");
  assert.equal(refused.code, "no_write_permission");
  assert.equal(refused.clientMessageId, "x1");
  await reader.send({ type: "typing", isTyping: true });
  assert.equal(reader.connection.ofType("error").length, 2);
  assert.deepEqual(await world.broker.history("channel:lobby"), []);
  await world.chat.send("lobby", { userId: "w", username: "W" }, { content: "for readers" });
  await reader.connection.next((frame) => frame.type === "message");
});

Deno.test("ChatSession: invalid content gets its error code with the clientMessageId", async () => {
  await using world = setup();
  const ada = await world.connect({ userId: "ada" });
  const cases: Array<[string, string]> = [
    ["   ", "empty_message"],
    ["x".repeat(4001), "message_too_long"],
    ["\u0000", "invalid_characters"],
  ];
  for (const [content, code] of cases) {
    await ada.send({ type: "message", content, clientMessageId: code });
    const error = await ada.connection.next((frame) => frame.clientMessageId === code);
    assert.equal(error.code, code);
    assert.equal(typeof error.message, "string");
  }
  await ada.send({ type: "message", content: "still fine" });
  await ada.connection.next((frame) => frame.type === "message");
});

Deno.test("ChatSession: sync and ?since= both give exactly the missed messages", async () => {
  await using world = setup();
  const ada = await world.connect({ userId: "ada" });
  await ada.send({ type: "message", content: "seen" });
  const seen = await ada.connection.next((frame) => frame.type === "message");
  await ada.leave();
  for (let index = 1; index <= 20; index++) {
    await world.chat.send("lobby", { userId: "bob", username: "Bob" }, {
      content: `missed ${index}`,
    });
  }
  const expected = Array.from({ length: 20 }, (_, index) => `missed ${index + 1}`);
  const resumed = await world.connect({ userId: "ada" }, { since: seen.cursor as string });
  const initial = resumed.connection.frames[0]!;
  assert.equal(initial.resumed, true);
  assert.deepEqual(initial.messages, []);
  const replayed = await resumed.connection.next(() =>
    resumed.connection.ofType("message").length >= 20
  ).then(() => resumed.connection.ofType("message"));
  assert.deepEqual(
    replayed.map((frame) => (frame.message as { content: string }).content),
    expected,
  );
  const fresh = await world.connect({ userId: "ada" });
  await fresh.send({ type: "sync", afterMessageId: (seen.message as { id: string }).id });
  const sync = await fresh.connection.next((frame) => frame.type === "sync");
  assert.deepEqual(
    (sync.messages as Array<{ content: string }>).map((message) => message.content),
    expected,
  );
  assert.equal(sync.hasMore, false);
  await fresh.send({ type: "sync", afterMessageId: "01ARZ3NDEKTSV4RRFFQ69G5FAV" });
  const unknown = await fresh.connection.next((frame) => frame.type === "error");
  assert.equal(unknown.code, "unknown_message");
});
