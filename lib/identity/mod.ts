/**
 * @module
 * Identity: the server secret and API key, user, guest and single-use stream
 * tokens, and revocation of a user's tokens by a per-user "not before" time.
 */
export { ensureServerSecrets, readStoredApiKey, type ServerSecrets } from "./secrets.ts";
export {
  AuthError,
  DEFAULT_PERMISSIONS,
  hasPermission,
  issuedAt,
  type IssuedToken,
  issueToken,
  isUserPermission,
  type Permission,
  PERMISSIONS,
  STREAM_TOKEN_MAX_SECONDS,
  TOKEN_MAX_SECONDS,
  type TokenClaims,
  type VerifyOptions,
  verifyToken,
} from "./tokens.ts";
export { confirmToken } from "./confirm.ts";
export { assertNotRevoked, type Revocation, revokeTokens } from "./revocation.ts";
export {
  announceRevocation,
  followRevocations,
  type FollowRevocationsOptions,
  UserConnections,
} from "./user_connections.ts";
export { TokenStore } from "./token_store.ts";
export { timingSafeEqual } from "./_encoding.ts";
