/**
 * @module
 * Identity: the server secret and API key, user, guest and single-use stream tokens.
 */
export { ensureServerSecrets, readStoredApiKey, type ServerSecrets } from "./secrets.ts";
export {
  AuthError,
  DEFAULT_PERMISSIONS,
  hasPermission,
  type IssuedToken,
  issueToken,
  isUserPermission,
  type Permission,
  PERMISSIONS,
  STREAM_TOKEN_MAX_SECONDS,
  type TokenClaims,
  USER_PERMISSIONS,
  verifyStreamToken,
  verifyToken,
} from "./tokens.ts";
export { timingSafeEqual } from "./_encoding.ts";
