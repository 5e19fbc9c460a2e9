import assert from "node:assert/strict";
import { readStoredSend, SENDER_STORAGE_KEY } from "./live_sender.ts";

function storage(value: unknown): Pick<Storage, "getItem"> {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return { getItem: (key) => key === SENDER_STORAGE_KEY ? text : null };
}

Deno.test("readStoredSend() returns the kept transfer and drops malformed parts", () => {
  const kept = {
    session: {
      transferId: "01J",
      code: "K7QX3M",
      senderToken: "ts_x",
      expiresAt: "2026-12-05T08:00:00Z",
      joinUrl: "https://sb.example/r/K7QX3M",
    },
    secret: "s".repeat(22),
    pairing: { own: { publicKey: "P".repeat(87), privateKey: { kty: "EC" } }, peer: "short" },
    withSecret: true,
    wordsConfirmed: false,
    files: [{ name: "a.bin", size: 3, type: "" }, { name: 5 }],
    snippet: null,
    cursor: "c-1",
  };
  assert.deepEqual(readStoredSend(storage(kept)), {
    ...kept,
    pairing: { ...kept.pairing, peer: null },
    files: [{ name: "a.bin", size: 3, type: "" }],
  });
  assert.equal(readStoredSend(storage("{oops")), null);
  assert.equal(readStoredSend(storage({ ...kept, session: { code: "K7QX3M" } })), null);
  assert.equal(readStoredSend(storage({ ...kept, pairing: { own: { publicKey: "x" } } })), null);
  assert.equal(readStoredSend(null), null);
});
