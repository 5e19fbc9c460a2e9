import assert from "node:assert/strict";
import { roundTripCounter } from "../kv/testing.ts";
import {
  assertNotRevoked,
  AuthError,
  confirmToken,
  issueToken,
  revokeTokens,
  type TokenClaims,
  verifyToken,
} from "./mod.ts";

const SECRET = "s".repeat(32);

function claims(issued: { iat: number; iatMs?: number }, sub = "ada"): TokenClaims {
  return { sub, name: sub, perms: [], kind: "user", exp: issued.iat + 3600, ...issued };
}

async function refusal(work: Promise<unknown>): Promise<string> {
  try {
    await work;
    return "accepted";
  } catch (error) {
    assert.ok(error instanceof AuthError);
    return error.code;
  }
}

Deno.test("issueToken() records the issue time to the millisecond", async () => {
  const before = Date.now();
  const issued = await verifyToken(SECRET, (await issueToken(SECRET, { userId: "ada" })).token);
  assert.ok(issued.iatMs! >= before && issued.iatMs! <= Date.now());
  assert.equal(issued.iat, Math.floor(issued.iatMs! / 1000));
});

Deno.test("revokeTokens() refuses the user's tokens issued before it, to the millisecond", async () => {
  using kv = await Deno.openKv(":memory:");
  const second = 1_800_000_000;
  const { notBefore } = await revokeTokens(kv, "ada", { now: second * 1000 + 500 });
  const check = (token: TokenClaims) => refusal(assertNotRevoked(kv, token));
  assert.equal(await check(claims({ iat: second, iatMs: second * 1000 + 499 })), "token_revoked");
  // Minted in the same second, after the revocation: a re-login right away works.
  assert.equal(await check(claims({ iat: second, iatMs: notBefore })), "accepted");
  // Tokens from before `iatMs` existed count from the start of their second.
  assert.equal(await check(claims({ iat: second })), "token_revoked");
  assert.equal(await check(claims({ iat: second - 60 }, "grace")), "accepted", "another user");
});

Deno.test("confirmToken() spends a stream token and checks revocation in one round trip", async () => {
  using raw = await Deno.openKv(":memory:");
  const counter = roundTripCounter(raw);
  const stream = await verifyToken(
    SECRET,
    (await issueToken(SECRET, { userId: "ada", kind: "stream" })).token,
  );
  const { roundTrips } = await counter.count(() => confirmToken(counter.kv, stream));
  assert.equal(roundTrips, 1);
  assert.equal(await refusal(confirmToken(raw, stream)), "token_used");
  const user = await verifyToken(SECRET, (await issueToken(SECRET, { userId: "ada" })).token);
  await revokeTokens(raw, "ada", { now: user.iatMs! + 1 });
  assert.equal(await refusal(confirmToken(raw, user)), "token_revoked");
});
