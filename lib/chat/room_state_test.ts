import assert from "node:assert/strict";
import type { ChatMessage, ChatServerFrame } from "./protocol.ts";
import { initialRoomState, roomReducer, type RoomState, typingLine } from "./room_state.ts";

let sequence = 0;
function message(userId: string, content: string, clientMessageId: string | null = null) {
  sequence += 1;
  return {
    id: `01JAAAAAAAAAAAAAAAAAAAA${String(sequence).padStart(3, "0")}`,
    channelId: "lobby",
    userId,
    username: userId,
    content,
    threadId: null,
    timestamp: new Date().toISOString(),
    clientMessageId,
  } satisfies ChatMessage;
}

function apply(state: RoomState, ...frames: ChatServerFrame[]): RoomState {
  return frames.reduce(
    (next, frame) => roomReducer(next, { type: "frame", frame, now: 1000 }),
    state,
  );
}

const you = { userId: "me", username: "Me", canWrite: true };

Deno.test("roomReducer: a pending message settles once when its echo arrives, duplicates are dropped", () => {
  let state = apply(initialRoomState(), {
    type: "initial_state",
    channelId: "lobby",
    messages: [],
    onlineUsers: [],
    cursor: "0",
    historyBefore: null,
    resumed: false,
    you,
  });
  state = roomReducer(state, {
    type: "queued",
    pending: { clientMessageId: "c1", content: "hi", threadId: null, status: "sending" },
  });
  assert.equal(state.pending.length, 1);
  const echo = message("me", "hi", "c1");
  state = apply(
    state,
    { type: "message", message: echo, cursor: "e-1" },
    { type: "message", message: echo, duplicate: true },
    { type: "sync", afterMessageId: echo.id, messages: [echo], hasMore: false },
  );
  assert.deepEqual(state.messages.map((shown) => shown.id), [echo.id]);
  assert.deepEqual(state.pending, []);
});

Deno.test("roomReducer: an error with a clientMessageId marks that pending message failed", () => {
  let state = roomReducer(initialRoomState(), {
    type: "queued",
    pending: { clientMessageId: "c9", content: "x", threadId: null, status: "sending" },
  });
  state = apply(state, {
    type: "error",
    code: "message_too_long",
    message: "Too long",
    clientMessageId: "c9",
  });
  assert.equal(state.pending[0]!.status, "failed");
  assert.equal(state.pending[0]!.error, "Too long");
  state = roomReducer(state, { type: "dismiss", clientMessageId: "c9" });
  assert.deepEqual(state.pending, []);
});

Deno.test("roomReducer: presence, typing with expiry, older history and a resumed snapshot", () => {
  const first = message("ada", "first");
  const second = message("bob", "second");
  let state = apply(initialRoomState(), {
    type: "initial_state",
    channelId: "lobby",
    messages: [second],
    onlineUsers: [
      { userId: "ada", username: "Ada", status: "online", connections: 1, joinedAt: 1 },
    ],
    cursor: "e-2",
    historyBefore: "e-2",
    resumed: false,
    you,
  });
  state = roomReducer(state, { type: "older", messages: [first], nextBefore: null });
  assert.deepEqual(state.messages.map((shown) => shown.content), ["first", "second"]);
  assert.equal(state.historyBefore, null);
  state = apply(
    state,
    {
      type: "user_joined",
      user: { userId: "bob", username: "Bob", status: "online", connections: 1, joinedAt: 2 },
    },
    { type: "presence", userId: "ada", username: "Ada", status: "away" },
    { type: "typing", userId: "bob", username: "Bob", isTyping: true, expiresInMs: 5000 },
    { type: "typing", userId: "ada", username: "Ada", isTyping: true, expiresInMs: 100 },
  );
  assert.deepEqual(state.online.map((user) => `${user.username}:${user.status}`), [
    "Ada:away",
    "Bob:online",
  ]);
  assert.equal(typingLine(state.typing), "Bob and Ada are typing…");
  state = roomReducer(state, { type: "expire", now: 2000 });
  assert.equal(typingLine(state.typing), "Bob is typing…");
  state = apply(state, { type: "message", message: message("bob", "done"), cursor: "e-3" });
  assert.equal(typingLine(state.typing), "", "a message ends its author's typing");
  state = apply(state, { type: "user_disconnected", userId: "bob", username: "Bob" });
  assert.deepEqual(state.online.map((user) => user.userId), ["ada"]);
  const resumed = apply(state, {
    type: "initial_state",
    channelId: "lobby",
    messages: [],
    onlineUsers: [],
    historyBefore: null,
    resumed: true,
    you,
  });
  assert.equal(resumed.messages.length, 3, "a resumed connection keeps what is shown");
  assert.deepEqual(resumed.online, []);
});
