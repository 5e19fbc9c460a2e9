/**
 * Revocation by user: a per-user "not before" time in KV. Tokens of that user
 * issued before it are refused (`token_revoked`); tokens minted afterwards work,
 * so a backend can sign a user out everywhere and sign them in again at once.
 */
import { AuthError, issuedAt, TOKEN_MAX_SECONDS, type TokenClaims } from "./tokens.ts";

const NOT_BEFORE = "token_not_before";

/** The KV key of a user's not-before time (ms since the epoch). */
function notBeforeKey(userId: string): Deno.KvKey {
  return [NOT_BEFORE, userId];
}

/** What a revocation set. */
export interface Revocation {
  userId: string;
  /** Tokens of the user issued before this time (ms since the epoch) are refused. */
  notBefore: number;
}

/**
 * Refuses every token of `userId` issued before now (or `options.now`). The
 * entry outlives the longest token and then expires by itself: by then every
 * token it refuses has expired too.
 *
 * @example
 * ```ts
 * import { issueToken, verifyToken } from "./tokens.ts";
 *
 * const kv = await Deno.openKv(":memory:");
 * const secret = "a server secret of at least 32 bytes";
 * const { token } = await issueToken(secret, { userId: "ada" });
 * await revokeTokens(kv, "ada"); // every token of ada issued before now
 * await assertNotRevoked(kv, await verifyToken(secret, token)); // throws AuthError "token_revoked"
 * ```
 */
export async function revokeTokens(
  kv: Deno.Kv,
  userId: string,
  options: { now?: number } = {},
): Promise<Revocation> {
  const notBefore = options.now ?? Date.now();
  await kv.set(notBeforeKey(userId), notBefore, { expireIn: (TOKEN_MAX_SECONDS + 86400) * 1000 });
  return { userId, notBefore };
}

/**
 * Throws {@linkcode AuthError} `token_revoked` when the token was issued before
 * its user's not-before time. One strong KV read.
 */
export async function assertNotRevoked(kv: Deno.Kv, claims: TokenClaims): Promise<void> {
  const { value: notBefore } = await kv.get<number>(notBeforeKey(claims.sub));
  if (typeof notBefore === "number" && issuedAt(claims) < notBefore) {
    throw new AuthError(
      "token_revoked",
      `The tokens of "${claims.sub}" issued before ${
        new Date(notBefore).toISOString()
      } were revoked`,
    );
  }
}
