/**
 * What anyone may store is bounded: per transfer session (messages and bytes per
 * side), per address (sessions per hour), and per kind of data over the whole
 * server (signaling, uploads, chat: 507 `storage_full`). Real server, real KV.
 */
import assert from "node:assert/strict";
import { request, startServer } from "./harness.ts";
import { chatToken, connectChat, INTEGRATION } from "./chat_fixtures.ts";
import { createSession, joinSession, openCreator, signalingUrl } from "./transfer_fixtures.ts";
import { openSocket } from "./ws_client.ts";

function offer(chars: number) {
  return { type: "offer", offer: { type: "offer", sdp: `v=0${"a".repeat(chars)}` } };
}

Deno.test({
  name: "a session stores at most TRANSFER_MAX_SIGNALS messages and TRANSFER_MAX_SIGNAL_BYTES " +
    "per side, and an address opens at most TRANSFERS_PER_HOUR sessions",
  ...INTEGRATION,
  fn: async () => {
    await using server = await startServer({
      env: {
        TRANSFER_MAX_SIGNALS: "5",
        TRANSFER_MAX_SIGNAL_BYTES: "4000",
        TRANSFERS_PER_HOUR: "2",
      },
    });
    const counted = await createSession(server);
    const weighed = await createSession(server);
    const third = await request(`${server.url}/api/transfer/create`, { method: "POST", json: {} });
    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, "rate_limited");
    assert.ok(Number(third.headers.get("retry-after")) > 0);

    // Six candidates: the sixth passes the message quota.
    const joined = await joinSession(server, counted.code);
    await using joiner = await openSocket(
      signalingUrl(server, { code: counted.code, role: "joiner", token: joined.receiverToken }),
    );
    await using creator = await openCreator(server, counted);
    for (let index = 0; index < 6; index++) {
      creator.send({ type: "ice-candidate", candidate: { candidate: `candidate:${index}` } });
    }
    const refused = await creator.next((frame) => frame.type === "error");
    assert.equal(refused.code, "quota_exceeded");
    creator.send({ type: "cancel", reason: "done" });
    await joiner.next((frame) => frame.type === "cancel");
    const candidates = joiner.frames.filter((frame) => frame.type === "ice-candidate");
    assert.deepEqual(
      candidates.map((frame) => frame.candidate.candidate),
      [0, 1, 2, 3, 4].map((index) => `candidate:${index}`),
    );

    // Offers of ~1.5 KB: the third passes 4,000 bytes.
    await using sender = await openCreator(server, weighed);
    for (let index = 0; index < 3; index++) sender.send(offer(1500));
    await sender.collect((frame) => frame.type === "offer-stored", 2);
    const full = await sender.next((frame) => frame.type === "error");
    assert.equal(full.code, "quota_exceeded");
    assert.equal(sender.frames.filter((frame) => frame.type === "offer-stored").length, 2);
  },
});

Deno.test({
  name: "past a kind's storage budget, signaling and chat get storage_full frames and uploads 507",
  ...INTEGRATION,
  fn: async () => {
    await using server = await startServer({
      env: {
        SIGNALING_STORAGE_BYTES: "3000",
        UPLOAD_STORAGE_BYTES: "1000",
        CHAT_STORAGE_BYTES: "1500",
      },
    });
    // Signaling: the second ~1.5 KB offer does not fit in 3,000 bytes.
    const session = await createSession(server);
    await using creator = await openCreator(server, session);
    creator.send(offer(1500));
    await creator.next((frame) => frame.type === "offer-stored");
    creator.send(offer(1500));
    const refused = await creator.next((frame) => frame.type === "error");
    assert.equal(refused.code, "storage_full");

    // Uploads: a streamed body that passes the budget is cut off, and its bytes
    // are given back, so 600 bytes still fit once and not twice.
    const upload = (body: BodyInit) =>
      request(`${server.url}/api/upload`, {
        method: "POST",
        headers: { "X-Filename": "a.bin" },
        body,
      });
    const streamed = await upload(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new Uint8Array(2000));
          controller.close();
        },
      }),
    );
    assert.equal(streamed.status, 507, JSON.stringify(streamed.body));
    assert.equal(streamed.body.error.code, "storage_full");
    assert.equal((await upload(new Uint8Array(600))).status, 201);
    const over = await upload(new Uint8Array(600));
    assert.equal(over.status, 507);
    assert.equal(over.body.error.code, "storage_full");

    // Chat: messages of ~700 bytes of JSON; the third passes 1,500.
    const token = await chatToken(server, "ada");
    const ada = await connectChat(server, "budget", token);
    try {
      for (let index = 0; index < 3; index++) {
        ada.socket.send({
          type: "message",
          content: `${index}${"m".repeat(450)}`,
          clientMessageId: `c${index}`,
        });
      }
      const error = await ada.socket.next((frame) => frame.type === "error");
      assert.deepEqual([error.code, error.clientMessageId], ["storage_full", "c2"]);
      const stored = await ada.socket.collect((frame) => frame.type === "message", 2);
      assert.deepEqual(stored.map((frame) => frame.message.clientMessageId), ["c0", "c1"]);
    } finally {
      await ada.socket.close();
    }
  },
});
