import assert from "node:assert/strict";
import { parseFrame } from "../transport/mod.ts";
import {
  ALLOWED_FRAMES,
  inboundTopic,
  MAX_CANDIDATE_CHARS,
  MAX_SDP_CHARS,
  outboundTopic,
  signalEventOf,
  signalingClientFrames,
} from "./signaling.ts";
import { TOPIC_PATTERN } from "../realtime/mod.ts";

const parse = (frame: unknown) => parseFrame(JSON.stringify(frame), signalingClientFrames);

Deno.test("each direction is its own topic: what one role writes the other reads", () => {
  const id = "01JABCDEF0123456789ABCDEFG";
  assert.equal(outboundTopic(id, "creator"), `transfer:${id}:to-receiver`);
  assert.equal(inboundTopic(id, "joiner"), `transfer:${id}:to-receiver`);
  assert.equal(outboundTopic(id, "joiner"), `transfer:${id}:to-sender`);
  assert.equal(inboundTopic(id, "creator"), `transfer:${id}:to-sender`);
  assert.match(inboundTopic(id, "creator"), TOPIC_PATTERN);
});

Deno.test("signaling frames accept browser shapes and refuse oversized or unknown fields", () => {
  const offer = { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" };
  assert.ok(parse({ type: "offer", offer }).ok);
  assert.ok(parse({ type: "answer", answer: "v=0\r\n" }).ok, "a bare SDP string");
  assert.ok(parse({ type: "offer", offer, attempt: "a1_B-2" }).ok, "with its attempt id");
  assert.ok(parse({ type: "answer", answer: "v=0\r\n", attempt: "a1_B-2" }).ok);
  const candidate = {
    candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host",
    sdpMid: "0",
    sdpMLineIndex: 0,
    usernameFragment: "abcd",
  };
  assert.ok(parse({ type: "ice-candidate", candidate }).ok);
  assert.ok(parse({ type: "ice-candidate", candidate: { candidate: "", sdpMid: null } }).ok);
  assert.ok(parse({ type: "ready" }).ok);
  assert.ok(parse({ type: "cancel" }).ok);
  assert.ok(parse({ type: "cancel", reason: "changed my mind" }).ok);
  assert.ok(parse({ type: "fallback-link", url: "https://example.test/d/abc#key" }).ok);
  assert.ok(parse({ type: "ready", confirm: "c".repeat(43) }).ok);
  assert.ok(parse({ type: "pairing-key", publicKey: "B".repeat(87), withSecret: true }).ok);
  assert.ok(parse({ type: "sealed-files", box: "AbC_-9" }).ok);

  const refused = [
    { type: "offer", offer: { type: "offer", sdp: "x".repeat(MAX_SDP_CHARS + 1) } },
    { type: "offer", offer: { type: "bogus", sdp: "v=0" } },
    { type: "offer", offer: { type: "offer", sdp: "v=0", extra: 1 } },
    { type: "offer" },
    { type: "offer", offer, attempt: "" },
    { type: "answer", answer: "v=0", attempt: "x".repeat(65) },
    { type: "answer", answer: "v=0", attempt: "no spaces" },
    { type: "answer", answer: "v=0", attempt: 7 },
    { type: "ice-candidate", candidate: { candidate: "x".repeat(MAX_CANDIDATE_CHARS + 1) } },
    { type: "ice-candidate", candidate: { candidate: "c", sdpMLineIndex: -1 } },
    { type: "ice-candidate", candidate: 42 },
    { type: "fallback-link", url: "javascript:alert(1)" },
    { type: "fallback-link", url: "not a url" },
    { type: "cancel", reason: "x".repeat(201) },
    { type: "ready", now: true },
    { type: "ready", confirm: "short" },
    { type: "pairing-key", publicKey: "B".repeat(86) },
    { type: "pairing-key", publicKey: "B".repeat(87), secret: "never sent" },
    { type: "sealed-files", box: "not base64url!" },
    { type: "sealed-files", box: "A".repeat(32 * 1024 + 1) },
  ];
  for (const frame of refused) {
    const result = parse(frame);
    assert.ok(!result.ok, JSON.stringify(frame).slice(0, 80));
    assert.equal(result.code, "invalid_frame");
  }
  const unknown = parse({ type: "peer-joined" });
  assert.ok(!unknown.ok && unknown.code === "unknown_type");
});

Deno.test("roles: only the creator offers and sends links, only the joiner answers", () => {
  assert.ok(ALLOWED_FRAMES.creator.has("offer") && ALLOWED_FRAMES.creator.has("fallback-link"));
  assert.ok(!ALLOWED_FRAMES.creator.has("answer"));
  assert.ok(ALLOWED_FRAMES.joiner.has("answer"));
  assert.ok(!ALLOWED_FRAMES.joiner.has("offer") && !ALLOWED_FRAMES.joiner.has("fallback-link"));
  assert.ok(
    ALLOWED_FRAMES.creator.has("sealed-files") && !ALLOWED_FRAMES.joiner.has("sealed-files"),
  );
  for (const shared of ["ice-candidate", "ready", "cancel", "pairing-key"] as const) {
    assert.ok(ALLOWED_FRAMES.creator.has(shared) && ALLOWED_FRAMES.joiner.has(shared));
  }
});

Deno.test("signalEventOf() stores exactly the payload, never interpreting it", () => {
  const offer = { type: "offer" as const, sdp: "v=0 anything at all" };
  assert.deepEqual(signalEventOf({ type: "offer", offer }), { type: "offer", offer });
  assert.deepEqual(signalEventOf({ type: "answer", answer: "v=0", attempt: "k2" }), {
    type: "answer",
    answer: "v=0",
    attempt: "k2",
  });
  assert.deepEqual(signalEventOf({ type: "ice-candidate", candidate: "c" }), {
    type: "ice-candidate",
    candidate: "c",
  });
  assert.equal(signalEventOf({ type: "cancel" }), null);
});
