import assert from "node:assert/strict";
import { sign } from "hono/jwt";
import { AuthError, confirmToken, issueToken, verifyToken } from "./mod.ts";

const SECRET = "s".repeat(32);

Deno.test("issueToken() and verifyToken() round-trip the claims", async () => {
  const { token, expiresAt } = await issueToken(SECRET, { userId: "ada", name: "Ada" });
  const claims = await verifyToken(SECRET, token);
  assert.equal(claims.sub, "ada");
  assert.equal(claims.name, "Ada");
  assert.deepEqual(claims.perms, ["chat:read", "chat:write"]);
  assert.ok(Date.parse(expiresAt) > Date.now());
});

Deno.test("verifyToken() rejects missing, forged and expired tokens with their codes", async () => {
  const code = async (token: string | null) => {
    try {
      await verifyToken(SECRET, token);
      return "accepted";
    } catch (error) {
      assert.ok(error instanceof AuthError);
      return error.code;
    }
  };
  assert.equal(await code(null), "missing_token");
  const forged = (await issueToken("x".repeat(32), { userId: "ada" })).token;
  assert.equal(await code(forged), "invalid_token");
  assert.equal(await code("not.a.jwt"), "invalid_token");
  const now = Math.floor(Date.now() / 1000);
  const expired = await sign(
    { sub: "ada", name: "a", perms: [], kind: "user", iat: now - 20, exp: now - 10 },
    SECRET,
    "HS256",
  );
  assert.equal(await code(expired), "expired_token");
});

Deno.test("a stream token lives at most 60 s and works once", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const { token, expiresAt } = await issueToken(SECRET, {
      userId: "ada",
      kind: "stream",
      ttlSeconds: 3600,
    });
    assert.ok(Date.parse(expiresAt) - Date.now() <= 60_000);
    const claims = await verifyToken(SECRET, token);
    assert.equal(claims.sub, "ada");
    await confirmToken(kv, claims);
    await assert.rejects(() => confirmToken(kv, claims), /already used/);
  } finally {
    kv.close();
  }
});
