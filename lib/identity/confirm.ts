/**
 * The KV half of accepting a token: a stream token is spent (single use), and a
 * token issued before its user's revocation is refused. Both run at once, and a
 * route may run them alongside its own reads ({@linkcode confirmToken}).
 */
import { assertNotRevoked } from "./revocation.ts";
import { AuthError, STREAM_TOKEN_MAX_SECONDS, type TokenClaims } from "./tokens.ts";

async function spendStreamToken(kv: Deno.Kv, claims: TokenClaims): Promise<void> {
  const key = ["stream_token_used", claims.jti ?? ""];
  const result = await kv.atomic().check({ key, versionstamp: null })
    .set(key, true, { expireIn: (STREAM_TOKEN_MAX_SECONDS + 60) * 1000 })
    .commit();
  if (!result.ok) throw new AuthError("token_used", "The stream token was already used");
}

/**
 * Checks in KV what a signature cannot say: that a stream token is used for the
 * first time (recorded atomically, so two isolates cannot both accept it) and
 * that the user's tokens were not revoked after this one was issued. One round
 * trip: the two run concurrently. Throws {@linkcode AuthError}.
 */
export async function confirmToken(kv: Deno.Kv, claims: TokenClaims): Promise<void> {
  const [revocation, spent] = await Promise.allSettled([
    assertNotRevoked(kv, claims),
    claims.kind === "stream" ? spendStreamToken(kv, claims) : Promise.resolve(),
  ]);
  if (revocation.status === "rejected") throw revocation.reason;
  if (spent.status === "rejected") throw spent.reason;
}
