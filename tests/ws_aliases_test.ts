/**
 * @module
 * The design documents' socket paths, `/ws/notifications` and
 * `/channel/:channelId/websocket`, with the token in `Authorization: Bearer`
 * (npm `ws`: Deno's WebSocket cannot set headers), the subprotocol or `?token=`.
 */
import assert from "node:assert/strict";
import WebSocket from "ws";
import { sharedServer } from "./harness.ts";
import { chatToken, connectChat, INTEGRATION } from "./chat_fixtures.ts";
import { publishOk, streamToken, userToken } from "./notifications_fixtures.ts";
import { type Frame, openSocket, refusedSocket } from "./ws_client.ts";

/** The server of the tests below that need none of their own (see sharedServer). */
const shared = sharedServer();

/** A socket with request headers (npm `ws`), recording frames and its close. */
function headerSocket(url: string, headers: Record<string, string>) {
  const socket = new WebSocket(url, { headers });
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  const closed = new Promise<{ code: number }>((resolve) =>
    socket.on("close", (code: number) => {
      resolve({ code });
      for (const waiter of waiters) waiter();
    })
  );
  socket.on("message", (data: unknown) => {
    frames.push(JSON.parse(String(data)));
    for (const waiter of waiters) waiter();
  });
  return {
    socket,
    frames,
    closed,
    send: (frame: unknown) => socket.send(JSON.stringify(frame)),
    next(predicate: (frame: Frame) => boolean): Promise<Frame> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error("timed out")), 10_000);
        const done = (error?: Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(new Error(`${error.message}; frames: ${JSON.stringify(frames)}`));
        };
        const check = () => {
          const found = frames.find(predicate);
          if (found) {
            done();
            resolve(found);
          } else if (socket.readyState === WebSocket.CLOSED) done(new Error("closed"));
        };
        waiters.add(check);
        check();
      });
    },
    close: () => socket.close(),
  };
}

Deno.test({
  name: "/ws/notifications takes the token as Bearer, subprotocol or ?token= and delivers alike",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const token = await userToken(server, "ada");
    const url = `${server.wsUrl}/ws/notifications`;
    const bearerUser = headerSocket(url, { Authorization: `Bearer ${token}` });
    const bearerStream = headerSocket(url, {
      Authorization: `Bearer ${await streamToken(server, token)}`,
    });
    const protocol = await openSocket(url, ["switchboard", `token.${token}`]);
    const query = await openSocket(`${url}?token=${await streamToken(server, token)}`);
    try {
      for (const client of [bearerUser, bearerStream, protocol, query]) {
        await client.next((frame) => frame.type === "notification.ready");
      }
      const [id] = await publishOk(server, {
        userId: "ada",
        type: "success",
        data: { message: "to every path" },
      });
      const got = await Promise.all(
        [bearerUser, bearerStream, protocol, query].map((client) =>
          client.next((frame) => frame.id === id)
        ),
      );
      for (const frame of got) assert.deepEqual(frame, got[0]);
      bearerUser.send({ type: "ack", notificationId: id });
      const acked = await bearerUser.next((frame) => frame.type === "notification.acked");
      assert.equal(acked.notificationId, id);
    } finally {
      bearerUser.close();
      bearerStream.close();
      await protocol.close();
      await query.close();
    }
    const refused = headerSocket(url, { Authorization: "Bearer not.a.token" });
    const error = await refused.next((frame) => frame.type === "error");
    assert.equal(error.code, "invalid_token");
    assert.equal((await refused.closed).code, 4401);
  },
});

Deno.test({
  name: "/channel/:channelId/websocket with a Bearer header is the channel socket",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const ada = await chatToken(server, "ada");
    const bob = await chatToken(server, "bob");
    const viaApi = await connectChat(server, "lobby", bob);
    const viaAlias = headerSocket(`${server.wsUrl}/channel/lobby/websocket`, {
      Authorization: `Bearer ${ada}`,
    });
    try {
      const initial = await viaAlias.next((frame) => frame.type === "initial_state");
      assert.ok(Array.isArray(initial.onlineUsers));
      viaAlias.send({ type: "message", content: "hello from the documented path" });
      const [onAlias, onApi] = await Promise.all([
        viaAlias.next((frame) => frame.type === "message"),
        viaApi.socket.next((frame) => frame.type === "message"),
      ]);
      assert.deepEqual(onAlias.message, onApi.message);
      assert.equal(onApi.message.content, "hello from the documented path");
    } finally {
      viaAlias.close();
      await viaApi.socket.close();
    }
    const noToken = await refusedSocket(`${server.wsUrl}/channel/lobby/websocket`);
    assert.equal(noToken.frames[0]?.code, "missing_token");
    assert.equal(noToken.code, 4401);
  },
});
