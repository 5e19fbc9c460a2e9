import assert from "node:assert/strict";
import { encodeControlMessage, parseControlMessage, ProtocolError } from "./messages.ts";

const SHA = "a".repeat(64);

function manifest(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: "manifest",
    version: 2,
    files: [{ index: 0, name: "a.txt", size: 3, type: "text/plain", sha256: null }],
    totalBytes: 3,
    chunkBytes: 65536,
    ...overrides,
  });
}

Deno.test("parseControlMessage() accepts every message of the protocol", () => {
  const messages = [
    JSON.parse(manifest()),
    { type: "file-start", index: 0, offset: 0 },
    { type: "file-start", index: 1, offset: 4_194_304 },
    { type: "resume", verified: [], failed: [], index: 0, offset: 0, sha256: null },
    { type: "stored", bytes: 2_097_152 },
    { type: "resume", verified: [0], failed: [1], index: 2, offset: 65536, sha256: SHA },
    { type: "file-end", index: 0, sha256: SHA },
    { type: "done" },
    { type: "file-verified", index: 2, sha256: SHA },
    { type: "file-failed", index: 1, code: "hash_mismatch", message: "damaged" },
    { type: "complete", verified: [0, 2], failed: [1] },
    { type: "cancel", reason: "Canceled by the sender" },
  ];
  for (const message of messages) {
    assert.deepEqual(parseControlMessage(encodeControlMessage(message)), message);
  }
});

Deno.test("parseControlMessage() refuses malformed or hostile messages with ProtocolError", () => {
  const bad = [
    "not json",
    "[]",
    "null",
    JSON.stringify({ type: "nope" }),
    JSON.stringify({ type: "file-start" }),
    JSON.stringify({ type: "file-start", index: -1 }),
    JSON.stringify({ type: "file-start", index: 1.5 }),
    JSON.stringify({ type: "file-end", index: 0, sha256: "A".repeat(64) }),
    JSON.stringify({ type: "file-failed", index: 0, code: "other", message: "" }),
    JSON.stringify({ type: "complete", verified: "0", failed: [] }),
    JSON.stringify({ type: "cancel", reason: "x".repeat(201) }),
    JSON.stringify({ type: "file-start", index: 0, offset: -1 }),
    JSON.stringify({ type: "stored", bytes: "1" }),
    JSON.stringify({ type: "resume", verified: [], failed: [], index: 0, offset: 5, sha256: null }),
    JSON.stringify({ type: "resume", verified: [], failed: [], index: 0, offset: 0, sha256: SHA }),
    JSON.stringify({
      type: "resume",
      verified: [],
      failed: [],
      index: 101,
      offset: 0,
      sha256: null,
    }),
    manifest({ version: 1 }),
    manifest({ totalBytes: 4 }),
    manifest({ chunkBytes: 1024 }),
    manifest({ chunkBytes: 1024 * 1024 }),
    manifest({ files: [{ index: 1, name: "a", size: 3, type: "" }], totalBytes: 3 }),
    manifest({ files: [{ index: 0, name: "a\u0000b", size: 3, type: "" }] }),
    manifest({ files: [{ index: 0, name: "   ", size: 3, type: "" }] }),
    manifest({ files: [{ index: 0, name: "a", size: -3, type: "" }], totalBytes: -3 }),
    manifest({ files: [{ index: 0, name: "a", size: 3, type: "", sha256: "xyz" }] }),
    manifest({ files: Array.from({ length: 101 }, (_, index) => ({ index, name: "a", size: 0 })) }),
    " ".repeat(70_000),
  ];
  for (const text of bad) {
    assert.throws(() => parseControlMessage(text), ProtocolError, text.slice(0, 80));
  }
});
