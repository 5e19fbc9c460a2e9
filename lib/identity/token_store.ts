/**
 * The KV side of tokens as one object of the core, so routes check and revoke
 * tokens without holding the KV handle.
 */
import { confirmToken } from "./confirm.ts";
import { assertNotRevoked, type Revocation, revokeTokens } from "./revocation.ts";
import type { TokenClaims } from "./tokens.ts";

/**
 * Revocations and spent stream tokens, in KV.
 *
 * @example
 * ```ts
 * import { issueToken, verifyToken } from "./tokens.ts";
 *
 * const kv = await Deno.openKv(":memory:");
 * const tokens = new TokenStore(kv);
 * const secret = "a server secret of at least 32 bytes";
 * const { token } = await issueToken(secret, { userId: "ada" });
 * await tokens.revoke("ada");
 * await tokens.assertNotRevoked(await verifyToken(secret, token)); // throws AuthError "token_revoked"
 * ```
 */
export class TokenStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Refuses every token of `userId` issued before now (see {@linkcode revokeTokens}). */
  revoke(userId: string): Promise<Revocation> {
    return revokeTokens(this.#kv, userId);
  }

  /** Throws `AuthError` `token_revoked` for a token issued before its user's revocation. */
  assertNotRevoked(claims: TokenClaims): Promise<void> {
    return assertNotRevoked(this.#kv, claims);
  }

  /** Spends a stream token and checks revocation, in one round trip (see {@linkcode confirmToken}). */
  confirm(claims: TokenClaims): Promise<void> {
    return confirmToken(this.#kv, claims);
  }
}
