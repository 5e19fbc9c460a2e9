import assert from "node:assert/strict";
import { KvBroker, MemoryBroker, parseCursor } from "../realtime/mod.ts";
import { MemoryPresence } from "../presence/mod.ts";
import { countingLists } from "../kv/testing.ts";
import {
  ChatError,
  ChatService,
  findMessage,
  MESSAGE_SCAN_LIMIT,
  type TypingSignal,
} from "./mod.ts";

const ada = { userId: "ada", username: "Ada" };

function setup(options: { typingThrottleMs?: number; typingTimeoutMs?: number } = {}) {
  const broker = new MemoryBroker();
  const stored: string[] = [];
  const chat = new ChatService({
    broker,
    presence: new MemoryPresence(broker),
    onMessage: (message) => stored.push(message.content),
    ...options,
  });
  return { broker, chat, stored };
}

async function sendMany(chat: ChatService, channelId: string, count: number, prefix = "m") {
  const ids: string[] = [];
  for (let index = 1; index <= count; index++) {
    ids.push((await chat.send(channelId, ada, { content: `${prefix}${index}` })).message.id);
  }
  return ids;
}

Deno.test("send() stores a message of the documented shape on topic channel:<id>", async () => {
  const { broker, chat, stored } = setup();
  using _ = chat;
  const sent = await chat.send("lobby", ada, {
    content: "  Hello  ",
    clientMessageId: "c-1",
    threadId: null,
  });
  assert.equal(sent.duplicate, false);
  assert.match(sent.message.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.deepEqual(Object.keys(sent.message).sort(), [
    "channelId",
    "clientMessageId",
    "content",
    "id",
    "threadId",
    "timestamp",
    "userId",
    "username",
  ]);
  assert.equal(sent.message.content, "Hello");
  assert.equal(sent.message.threadId, null);
  assert.ok(!Number.isNaN(Date.parse(sent.message.timestamp)));
  const events = await broker.history("channel:lobby");
  assert.deepEqual(events.map((event) => event.data), [sent.message]);
  assert.deepEqual(parseCursor(sent.cursor)?.offset, 1);
  assert.deepEqual(stored, ["Hello"]);
});

Deno.test("send() with the same clientMessageId stores once and returns the first message", async () => {
  const { broker, chat, stored } = setup();
  using _ = chat;
  const first = await chat.send("lobby", ada, { content: "once", clientMessageId: "abc" });
  const again = await chat.send("lobby", ada, { content: "once", clientMessageId: "abc" });
  assert.equal(again.duplicate, true);
  assert.equal(again.message.id, first.message.id);
  // Another user may use the same client id: keys are per user.
  const bob = await chat.send("lobby", { userId: "bob", username: "Bob" }, {
    content: "mine",
    clientMessageId: "abc",
  });
  assert.equal(bob.duplicate, false);
  assert.equal((await broker.history("channel:lobby")).length, 2);
  assert.deepEqual(stored, ["once", "mine"]);
});

Deno.test("send() refuses bad content and bad channels with their codes and stores nothing", async () => {
  const { broker, chat } = setup();
  using _ = chat;
  const refused = async (channelId: string, content: string, code: string) => {
    await assert.rejects(
      chat.send(channelId, ada, { content }),
      (error) => error instanceof ChatError && error.code === code,
    );
  };
  await refused("lobby", "   ", "empty_message");
  await refused("lobby", "x".repeat(4001), "message_too_long");
  await refused("lobby", "a\u0007", "invalid_characters");
  await refused("Bad Name", "hi", "invalid_channel");
  assert.deepEqual(await broker.history("channel:lobby"), []);
});

Deno.test("latest() gives the last 50 oldest first; history() pages back to the start", async () => {
  const { chat } = setup();
  using _ = chat;
  await sendMany(chat, "lobby", 120);
  const latest = await chat.latest("lobby");
  assert.equal(latest.messages.length, 50);
  assert.equal(latest.messages[0]!.content, "m71");
  assert.equal(latest.messages[49]!.content, "m120");
  assert.equal(latest.position?.offset, 120);
  const seen = [...latest.messages.map((message) => message.content)];
  let before = latest.historyBefore;
  while (before) {
    const page = await chat.history("lobby", { before: parseCursor(before), limit: 30 });
    seen.unshift(...page.messages.map((message) => message.content));
    before = page.nextBefore;
  }
  assert.deepEqual(seen, Array.from({ length: 120 }, (_, index) => `m${index + 1}`));
  const newest = await chat.history("lobby", { limit: 10 });
  assert.equal(newest.messages.at(-1)!.content, "m120");
  assert.equal(newest.messages.length, 10);
  assert.deepEqual(await chat.latest("empty"), {
    messages: [],
    position: null,
    historyBefore: null,
  });
});

Deno.test("after() returns exactly the messages after an id, also far back in the log", async () => {
  const { chat } = setup();
  using _ = chat;
  const ids = await sendMany(chat, "lobby", 700);
  const recent = await chat.after("lobby", ids[679]!);
  assert.deepEqual(
    recent.messages.map((message) => message.content),
    Array.from({ length: 20 }, (_, index) => `m${index + 681}`),
  );
  assert.equal(recent.hasMore, false);
  // 600 back: the scan crosses several pages; the answer is cut at 200 and says so.
  const old = await chat.after("lobby", ids[99]!);
  assert.equal(old.messages[0]!.content, "m101");
  assert.equal(old.messages.length, 200);
  assert.equal(old.hasMore, true);
  const last = await chat.after("lobby", ids[699]!);
  assert.deepEqual(last, { messages: [], hasMore: false });
  await assert.rejects(
    chat.after("lobby", "01ARZ3NDEKTSV4RRFFQ69G5FAV"),
    (error) => error instanceof ChatError && error.code === "unknown_message",
  );
});

Deno.test("typing goes out as an ephemeral message, throttled, and stops when the user sends", async () => {
  const { broker, chat } = setup({ typingThrottleMs: 10_000 });
  using _ = chat;
  const controller = new AbortController();
  const signals: TypingSignal[] = [];
  const listening = (async () => {
    for await (const message of broker.listenEphemeral<TypingSignal>("channel:lobby", controller)) {
      signals.push(message.data);
      if (signals.length === 2) break;
    }
  })(); // listening from here: the generator registers on its first next(), synchronously
  const typist = { channelId: "lobby", ...ada };
  chat.typing(typist, true);
  chat.typing(typist, true); // throttled
  await chat.send("lobby", ada, { content: "done typing" });
  await listening;
  controller.abort();
  assert.deepEqual(signals.map((signal) => `${signal.userId}:${signal.isTyping}`), [
    "ada:true",
    "ada:false",
  ]);
  assert.equal((await broker.history("channel:lobby")).length, 1, "typing is not stored");
});

Deno.test("online() shares listings between concurrent callers and never misses an earlier enter", async () => {
  const broker = new MemoryBroker();
  const presence = new MemoryPresence(broker);
  let listings = 0;
  const counting = {
    ...presence,
    enter: presence.enter.bind(presence),
    list: (scope: string) => {
      listings += 1;
      return presence.list(scope);
    },
    [Symbol.asyncDispose]: () => presence[Symbol.asyncDispose](),
  };
  using chat = new ChatService({ broker, presence: counting });
  const results = [];
  for (let index = 0; index < 20; index++) {
    await presence.enter("channel:lobby", {
      userId: `u${index}`,
      name: `U${index}`,
      connectionId: `c${index}`,
    });
    results.push(chat.online("lobby"));
  }
  const lists = await Promise.all(results);
  lists.forEach((list, index) => assert.ok(list.length >= index + 1, `call ${index} sees itself`));
  assert.equal(lists.at(-1)!.length, 20);
  assert.ok(listings < 20, `${listings} listings for 20 calls`);
});

Deno.test("a resend after the message left the channel's history returns the first message, stored once (KV)", async () => {
  const kv = await Deno.openKv(":memory:");
  const broker = new KvBroker(kv, {
    retention: { channel: { maxCount: 5 } },
    channelName: `t-${crypto.randomUUID()}`,
  });
  const stored: string[] = [];
  const chat = new ChatService({
    broker,
    presence: new MemoryPresence(broker),
    onMessage: (message) => stored.push(message.content),
  });
  try {
    const first = await chat.send("lobby", ada, { content: "early", clientMessageId: "c1" });
    await sendMany(chat, "lobby", 10);
    assert.ok(
      (await chat.latest("lobby")).messages.every((shown) => shown.id !== first.message.id),
    );
    const again = await chat.send("lobby", ada, { content: "early", clientMessageId: "c1" });
    assert.equal(again.duplicate, true);
    assert.equal(again.message.id, first.message.id);
    assert.equal(stored.filter((content) => content === "early").length, 1);
  } finally {
    chat[Symbol.dispose]();
    await broker[Symbol.asyncDispose]();
    kv.close();
  }
});

Deno.test("an ancient or made-up id is unknown_message after reading at most MESSAGE_SCAN_LIMIT events (KV)", async () => {
  const counting = countingLists(await Deno.openKv(":memory:"));
  const broker = new KvBroker(counting.kv, { channelName: `t-${crypto.randomUUID()}` });
  const chat = new ChatService({ broker, presence: new MemoryPresence(broker) });
  try {
    const ids = await sendMany(chat, "busy", MESSAGE_SCAN_LIMIT + 200);
    const walk = async (read: () => Promise<unknown>) => {
      const before = counting.counts();
      await read();
      const after = counting.counts();
      return { lists: after.lists - before.lists, entries: after.entries - before.entries };
    };
    // A ULID of 1970 (or 2016) passes every early stop by time: only the bound ends the walk.
    const bounded = { lists: 4, entries: MESSAGE_SCAN_LIMIT };
    for (const id of ["00000000000000000000000000", "01ARZ3NDEKTSV4RRFFQ69G5FAV"]) {
      // sync
      assert.deepEqual(
        await walk(() =>
          assert.rejects(
            chat.after("busy", id),
            (error) => error instanceof ChatError && error.code === "unknown_message",
          )
        ),
        bounded,
      );
      // before=<message id>
      assert.deepEqual(
        await walk(async () => assert.equal(await findMessage(broker, "busy", id), null)),
        bounded,
      );
    }
    // Within the bound an id is still found, however far back.
    const far = ids[ids.length - MESSAGE_SCAN_LIMIT]!;
    assert.equal((await findMessage(broker, "busy", far))?.data.id, far);
    assert.equal((await chat.after("busy", far, { limit: 5 })).messages.length, 5);
    assert.equal(
      await findMessage(broker, "busy", ids[ids.length - MESSAGE_SCAN_LIMIT - 1]!),
      null,
    );
  } finally {
    chat[Symbol.dispose]();
    await broker[Symbol.asyncDispose]();
    counting.kv.close();
  }
});
