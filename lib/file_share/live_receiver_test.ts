import assert from "node:assert/strict";
import { readStoredSession, storageKey } from "./live_receiver.ts";

function storage(entries: Record<string, string>): Pick<Storage, "getItem"> {
  return { getItem: (key) => entries[key] ?? null };
}

Deno.test("readStoredSession() returns a kept session and drops malformed entries", () => {
  const session = {
    transferId: "01J",
    receiverToken: "tr_x",
    files: [{ name: "a", size: 1, type: "" }, { name: 5, size: "x" }],
    cursor: "abc-3",
    accepted: true,
    finished: false,
    received: [
      { index: 0, segments: ["1796454220559-e0911790-0-0"], sha256: null },
      { index: 1, segments: ["x"], sha256: "not hex" },
      { index: -1, segments: [], sha256: null },
    ],
  };
  assert.deepEqual(
    readStoredSession(storage({ [storageKey("K7QX3M")]: JSON.stringify(session) }), "K7QX3M"),
    {
      ...session,
      files: [{ name: "a", size: 1, type: "" }],
      pairing: null,
      received: [session.received[0]],
    },
  );
  const pairing = {
    own: { publicKey: "P".repeat(87), privateKey: { kty: "EC" } },
    peer: "Q".repeat(87),
  };
  assert.deepEqual(
    readStoredSession(
      storage({ [storageKey("K7QX3M")]: JSON.stringify({ ...session, pairing }) }),
      "K7QX3M",
    )?.pairing,
    pairing,
  );
  const badPeer = { ...pairing, peer: "short" };
  assert.deepEqual(
    readStoredSession(
      storage({ [storageKey("K7QX3M")]: JSON.stringify({ ...session, pairing: badPeer }) }),
      "K7QX3M",
    )?.pairing,
    { ...pairing, peer: null },
  );
  assert.equal(readStoredSession(storage({}), "K7QX3M"), null);
  assert.equal(readStoredSession(storage({ [storageKey("K7QX3M")]: "{oops" }), "K7QX3M"), null);
  assert.equal(
    readStoredSession(storage({ [storageKey("K7QX3M")]: '{"transferId":1}' }), "K7QX3M"),
    null,
  );
});
