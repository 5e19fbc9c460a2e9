import assert from "node:assert/strict";
import { RealtimeClient, type ServerFrame } from "../lib/client/mod.ts";
import { request, sharedServer, startServer, type TestServer, waitFor } from "./harness.ts";
import { openKv } from "../lib/kv/mod.ts";
import { toReceiverTopic } from "../lib/transfer/mod.ts";
import {
  candidate,
  createSession,
  joinSession,
  openCreator,
  openJoiner,
  sdp,
  signalingUrl,
} from "./transfer_fixtures.ts";
import { type Frame, refusedSocket, type TestSocket, upgradeStatus } from "./ws_client.ts";

/** The server of the tests below that need none of their own (see sharedServer). */
const shared = sharedServer();

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

/** The offset of the last signal stored for the joiner (0 before any). */
async function toReceiverHead(server: TestServer, transferId: string): Promise<number> {
  const kv = await openKv(server.kvPath);
  try {
    const head = await kv.get<{ offset: number }>(["topics", toReceiverTopic(transferId), "head"]);
    return head.value?.offset ?? 0;
  } finally {
    kv.close();
  }
}
const isType = (type: string) => (frame: Frame) => frame.type === type;
/** The first frame of `type`, wherever it is among the frames received (order-independent). */
const seen = async (socket: TestSocket, type: string) =>
  (await socket.collect(isType(type), 1))[0]!;

Deno.test({
  name: "both online: offer, answer and ICE candidates both ways, with peer-joined and peer-left",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const session = await createSession(server, {
      files: [{ name: "holiday.jpg", size: 2_000_000, type: "image/jpeg" }],
    });
    await using creator = await openCreator(server, session);
    creator.send({ type: "offer", offer: sdp("offer", "1") });
    const stored = await creator.next(isType("offer-stored"));
    assert.equal(stored.code, session.code);
    assert.equal(typeof stored.isolate, "string");

    const joined = await joinSession(server, session.code);
    assert.equal(joined.transferId, session.transferId);
    assert.deepEqual(joined.files, [{ name: "holiday.jpg", size: 2_000_000, type: "image/jpeg" }]);
    await using joiner = await openJoiner(server, session.code, joined);
    const offer = await joiner.next(isType("offer"));
    assert.deepEqual(offer.offer, sdp("offer", "1"));
    assert.match(offer.cursor, /^[a-z0-9]+-1$/);
    assert.equal((await seen(joiner, "peer-joined")).role, "creator");
    assert.equal((await seen(creator, "peer-joined")).role, "joiner");

    joiner.send({ type: "answer", answer: sdp("answer", "1") });
    await joiner.next(isType("answer-stored"));
    const answer = await creator.next(isType("answer"));
    assert.deepEqual(answer.answer, sdp("answer", "1"));
    assert.ok(answer.cursor);

    for (let index = 0; index < 5; index++) {
      creator.send({ type: "ice-candidate", candidate: candidate(index) });
      joiner.send({ type: "ice-candidate", candidate: candidate(100 + index) });
    }
    const toJoiner = await joiner.collect(isType("ice-candidate"), 5);
    const toCreator = await creator.collect(isType("ice-candidate"), 5);
    assert.deepEqual(toJoiner.map((frame) => frame.candidate), [0, 1, 2, 3, 4].map(candidate));
    assert.deepEqual(
      toCreator.map((frame) => frame.candidate),
      [100, 101, 102, 103, 104].map(candidate),
    );
    creator.send({ type: "ready" });
    joiner.send({ type: "ready" });
    await joiner.next(isType("ready"));
    await creator.next(isType("ready"));
    creator.send({ type: "fallback-link", url: "https://example.test/d/01ABC#key" });
    assert.equal(
      (await joiner.next(isType("fallback-link"))).url,
      "https://example.test/d/01ABC#key",
    );

    await joiner.close();
    assert.equal((await creator.next(isType("peer-left"))).role, "joiner");
    assert.ok(
      !creator.frames.some((frame) => frame.type === "error"),
      JSON.stringify(creator.frames),
    );
  },
});

/** Waits for `answer` and returns its frame, checking nothing else is delivered first. */
async function expectAnswerFirst(socket: TestSocket): Promise<Frame> {
  const first = await socket.next((frame) => frame.cursor !== undefined);
  assert.equal(first.type, "answer", JSON.stringify(first));
  return first;
}

Deno.test({
  name:
    "the creator was offline when the joiner answered: the answer arrives on reconnect, on either isolate and after a restart",
  ...INTEGRATION,
  async fn() {
    let server = await startServer({ isolates: 2 });
    try {
      const session = await createSession(server);
      {
        await using creator = await openCreator(server, session);
        creator.send({ type: "offer", offer: sdp("offer", "away") });
        await creator.next(isType("offer-stored"));
      }
      const joined = await joinSession(server, session.code);
      // The joiner stays connected; only the creator is away.
      const joiner = await openJoiner(server, session.code, joined);
      await joiner.next(isType("offer"));
      joiner.send({ type: "answer", answer: sdp("answer", "away") });
      for (let index = 0; index < 3; index++) {
        joiner.send({ type: "ice-candidate", candidate: candidate(index) });
      }
      await joiner.next(isType("answer-stored"));

      // Reconnect until both isolates served the creator; every time the answer is there.
      const isolates = new Set<string>();
      for (let attempt = 0; attempt < 30 && isolates.size < 2; attempt++) {
        await using creator = await openCreator(server, session);
        const answer = await expectAnswerFirst(creator);
        assert.deepEqual(answer.answer, sdp("answer", "away"));
        const candidates = await creator.collect(isType("ice-candidate"), 3);
        assert.deepEqual(candidates.map((frame) => frame.candidate), [0, 1, 2].map(candidate));
        // The joiner is online (on one of the two isolates): presence says so on either.
        assert.equal((await seen(creator, "peer-joined")).role, "joiner");
        creator.send({ type: "offer", offer: sdp("offer", `probe-${attempt}`) });
        isolates.add((await creator.next(isType("offer-stored"))).isolate);
      }
      assert.equal(isolates.size, 2, "the reconnects were served by both isolates");

      // Resuming from the answer's cursor skips exactly what was already seen.
      let answerCursor: string;
      {
        await using creator = await openCreator(server, session);
        answerCursor = (await expectAnswerFirst(creator)).cursor;
        await creator.collect(isType("ice-candidate"), 3);
      }
      {
        await using creator = await openCreator(server, session, answerCursor);
        const next = await creator.next((frame) => frame.cursor !== undefined);
        assert.equal(next.type, "ice-candidate");
        assert.deepEqual(next.candidate, candidate(0));
      }

      await joiner.close();
      server = await server.restart();
      {
        await using creator = await openCreator(server, session);
        const answer = await expectAnswerFirst(creator);
        assert.deepEqual(answer.answer, sdp("answer", "away"));
        assert.equal(answer.cursor, answerCursor, "cursors survive the restart");
      }
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "an invalid code is session_not_found, for joining and for the signaling socket",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    for (const code of ["ZZZZZZ", "zzzzzz", "nope", "0OIL1U"]) {
      const response = await request(`${server.url}/api/transfer/join`, {
        method: "POST",
        json: { code },
      });
      assert.equal(response.status, 404, code);
      assert.equal(response.body.error.code, "session_not_found");
    }
    const refused = await upgradeStatus(
      signalingUrl(server, { code: "ZZZZZZ", role: "creator", token: "ts_x" }),
    );
    assert.equal(refused.status, 404);
    assert.equal((refused.body as Frame).error.code, "session_not_found");
  },
});

Deno.test({
  name: "ICE candidates sent while the peer is away arrive complete and in order (RealtimeClient)",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ isolates: 2 });
    const session = await createSession(server);
    const joined = await joinSession(server, session.code);
    const received: ServerFrame[] = [];
    const startJoiner = (initialCursor: string | null) => {
      const client = new RealtimeClient({
        url: (cursor) =>
          signalingUrl(server, {
            code: session.code,
            role: "joiner",
            token: joined.receiverToken,
            since: cursor,
          }),
        onFrame: (frame) => received.push(frame),
        initialCursor,
        minDelayMs: 50,
        maxDelayMs: 200,
      });
      client.start();
      return client;
    };
    await using creator = await openCreator(server, session);
    creator.send({ type: "offer", offer: sdp("offer", "trickle") });
    await creator.next(isType("offer-stored"));

    const first = startJoiner(null);
    await waitFor(() => received.some((frame) => frame.type === "offer"), { message: "offer" });
    for (let index = 0; index < 5; index++) {
      creator.send({ type: "ice-candidate", candidate: candidate(index) });
    }
    await waitFor(() => received.filter((frame) => frame.type === "ice-candidate").length === 5, {
      message: "5 live candidates",
    });
    const cursor = first.cursor;
    first.close();
    await creator.next(isType("peer-left"));

    // The joiner is away: 30 more candidates and a ready are stored for it.
    const storedBefore = await toReceiverHead(server, session.transferId);
    for (let index = 5; index < 35; index++) {
      creator.send({ type: "ice-candidate", candidate: candidate(index) });
    }
    creator.send({ type: "ready" });
    await waitFor(
      async () => await toReceiverHead(server, session.transferId) === storedBefore + 31,
      {
        message: "the 31 signals stored for the joiner",
      },
    );

    const second = startJoiner(cursor);
    try {
      await waitFor(() => received.some((frame) => frame.type === "ready"), {
        message: "everything sent while away",
      });
      const candidates = received.filter((frame) => frame.type === "ice-candidate");
      assert.deepEqual(
        candidates.map((frame) => frame.candidate),
        Array.from({ length: 35 }, (_, index) => candidate(index)),
        "all 35 candidates, each once, in the order sent",
      );
      const offsets = received.filter((frame) => frame.cursor)
        .map((frame) => Number(String(frame.cursor).split("-")[1]));
      assert.deepEqual(offsets, Array.from({ length: 37 }, (_, index) => index + 1));
    } finally {
      second.close();
    }
  },
});

Deno.test({
  name:
    "wrong tokens, wrong roles, closed, expired and unknown sessions get their documented answers",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const session = await createSession(server);
    const status = async (options: Parameters<typeof signalingUrl>[1]) => {
      const result = await upgradeStatus(signalingUrl(server, options));
      return { status: result.status, code: (result.body as Frame).error?.code };
    };
    const code = session.code;
    assert.deepEqual(await status({ code, role: "creator", token: "ts_wrong" }), {
      status: 403,
      code: "invalid_transfer_token",
    });
    assert.deepEqual(await status({ code, role: "joiner", token: session.senderToken }), {
      status: 403,
      code: "invalid_transfer_token",
    }, "the sender token is not a receiver token");
    const joined = await joinSession(server, code);
    assert.deepEqual(await status({ code, role: "creator", token: joined.receiverToken }), {
      status: 403,
      code: "invalid_transfer_token",
    }, "the receiver token is not a sender token");
    const other = await createSession(server);
    assert.deepEqual(
      await status({ code: other.code, role: "creator", token: session.senderToken }),
      {
        status: 403,
        code: "invalid_transfer_token",
      },
      "a token of another session",
    );
    const missing = await upgradeStatus(
      `${server.wsUrl}/api/ws/file-share-session?code=${code}&role=creator`,
    );
    assert.equal(missing.status, 400, "no token at all");
    // Browsers keep the token out of the URL: the subprotocol `token.<token>` next to `switchboard`.
    const viaProtocol = new WebSocket(
      `${server.wsUrl}/api/ws/file-share-session?code=${code}&role=creator`,
      ["switchboard", `token.${session.senderToken}`],
    );
    await new Promise((resolve, reject) => {
      viaProtocol.onopen = resolve;
      viaProtocol.onerror = () => reject(new Error("the subprotocol token was refused"));
    });
    assert.equal(viaProtocol.protocol, "switchboard");
    viaProtocol.close();
    const wrongProtocol = new WebSocket(
      `${server.wsUrl}/api/ws/file-share-session?code=${code}&role=creator`,
      ["switchboard", "token.ts_wrong"],
    );
    // Refused after the upgrade: one error frame, then 4403 (docs/protocol.md).
    const refusal = await new Promise<{ frames: string[]; code: number }>((resolve) => {
      const frames: string[] = [];
      wrongProtocol.onmessage = (event) => frames.push(String(event.data));
      wrongProtocol.onclose = (event) => resolve({ frames, code: event.code });
    });
    assert.equal(refusal.code, 4403, "a wrong subprotocol token is refused");
    assert.equal(JSON.parse(refusal.frames[0]!).code, "invalid_transfer_token");
    const malformed = await upgradeStatus(
      `${server.wsUrl}/api/ws/file-share-session?code=${code}&role=admin&token=x`,
    );
    assert.equal(malformed.status, 400);
    const plain = await request(
      signalingUrl(server, { code, role: "creator", token: session.senderToken }).replace(
        /^ws/,
        "http",
      ),
    );
    assert.equal(plain.status, 426);

    await using creator = await openCreator(server, session);
    await using joiner = await openJoiner(server, code, joined);
    const refusedFor = async (socket: TestSocket, frame: unknown, errorCode: string) => {
      socket.send(frame);
      const error = await socket.next(isType("error"));
      assert.equal(error.code, errorCode, JSON.stringify(error));
      assert.equal(typeof error.message, "string");
    };
    await refusedFor(joiner, { type: "offer", offer: sdp("offer", "x") }, "not_allowed_for_role");
    await refusedFor(
      joiner,
      { type: "fallback-link", url: "https://example.test/x" },
      "not_allowed_for_role",
    );
    await refusedFor(
      creator,
      { type: "answer", answer: sdp("answer", "x") },
      "not_allowed_for_role",
    );
    await refusedFor(
      creator,
      { type: "offer", offer: { type: "offer", sdp: "x".repeat(33 * 1024) } },
      "invalid_frame",
    );
    await refusedFor(
      joiner,
      { type: "ice-candidate", candidate: { candidate: "x".repeat(3000) } },
      "invalid_frame",
    );
    await refusedFor(creator, { type: "dance" }, "unknown_type");
    creator.send({ type: "ping" });
    await creator.next(isType("pong"));
    assert.ok(
      !joiner.frames.some((frame) => frame.type === "offer"),
      "nothing refused was relayed",
    );

    // cancel ends the session: the other side gets cancel and both sockets close with 4410.
    joiner.send({ type: "cancel", reason: "wrong file" });
    const cancel = await creator.next(isType("cancel"));
    assert.equal(cancel.reason, "wrong file");
    assert.equal(cancel.by, "joiner");
    assert.equal((await creator.closed).code, 4410);
    assert.equal((await joiner.closed).code, 4410);
    assert.deepEqual(await status({ code, role: "creator", token: session.senderToken }), {
      status: 410,
      code: "session_closed",
    });
    const rejoin = await request(`${server.url}/api/transfer/join`, {
      method: "POST",
      json: { code },
    });
    assert.equal(rejoin.status, 410);

    const short = await createSession(server, { ttlSeconds: 1 });
    // The server's own clock decides the expiry: wait for the time it gave, not a guess.
    await waitFor(() => Date.now() > Date.parse(short.expiresAt), { message: "expiry passed" });
    assert.deepEqual(
      await status({ code: short.code, role: "creator", token: short.senderToken }),
      {
        status: 410,
        code: "session_expired",
      },
    );
  },
});

Deno.test({
  name: "HTTP close tells connected peers and ends their sockets",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const session = await createSession(server);
    const joined = await joinSession(server, session.code);
    await using joiner = await openJoiner(server, session.code, joined);
    await using creator = await openCreator(server, session);
    await seen(joiner, "peer-joined");
    const closed = await request(`${server.url}/api/transfer/close`, {
      method: "POST",
      json: { transferId: session.transferId, token: session.senderToken },
    });
    assert.equal(closed.status, 200);
    assert.equal(closed.body.state, "closed");
    const cancel = await joiner.next(isType("cancel"));
    assert.equal(cancel.by, "creator");
    assert.equal((await joiner.closed).code, 4410);
    assert.equal((await creator.closed).code, 4410);
    const refused = await refusedSocket(signalingUrl(server, {
      code: session.code,
      role: "joiner",
      token: joined.receiverToken,
    }));
    assert.equal(refused.code, 4410, "a closed session refuses the connect");
    assert.equal(refused.frames[0]?.code, "session_closed");
  },
});
