import { sign, verify } from "hono/jwt";
import { ApiError } from "../errors/mod.ts";
import { newId } from "../ids/mod.ts";
import { z } from "zod";

/**
 * The server secret as an HMAC key, imported once per secret: hono/jwt imports
 * a string secret again on every sign and verify, which was a fifth of the CPU
 * of a token check (a burst of 1,000 connections verifies 1,000 tokens).
 */
const hmacKeys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: { name: "SHA-256" } },
      false,
      ["sign", "verify"],
    );
    // A handful of secrets per process at most (the server's; tests start several).
    if (hmacKeys.size >= 16) hmacKeys.clear();
    hmacKeys.set(secret, key);
  }
  return key;
}

/** Permissions a token can carry. */
export const PERMISSIONS = [
  "chat:read",
  "chat:write",
  "topics:read",
  "topics:publish",
  "admin",
] as const;
/** One permission. */
export type Permission = (typeof PERMISSIONS)[number];

/**
 * Permissions a user token may carry: all but `admin`. Administration belongs
 * to the API key alone (and to the single-use admin stream tokens it mints);
 * an `admin` user token would be a second, long-lived admin credential that
 * travels through browsers.
 */
const USER_PERMISSIONS: readonly Permission[] = PERMISSIONS.filter((perm) => perm !== "admin");

/** True for a permission a user token may carry (see {@linkcode USER_PERMISSIONS}). */
export function isUserPermission(permission: string): boolean {
  return (USER_PERMISSIONS as readonly string[]).includes(permission);
}

/** Permissions of a guest and of a user token minted without `perms`. */
export const DEFAULT_PERMISSIONS: Permission[] = ["chat:read", "chat:write"];

/** The longest life of a stream token. */
export const STREAM_TOKEN_MAX_SECONDS = 60;

/** The longest life of a user token (`POST /api/tokens`); guests get 7 days. */
export const TOKEN_MAX_SECONDS = 30 * 86400;

const claimsSchema = z.object({
  sub: z.string().min(1).max(128),
  name: z.string().max(64),
  perms: z.array(z.string()),
  kind: z.enum(["user", "guest", "stream"]),
  exp: z.number(),
  iat: z.number(),
  /**
   * When it was issued, in ms: `iat` has whole seconds, too coarse to tell a token
   * revoked in the same second from one minted right after the revocation.
   */
  iatMs: z.number().optional(),
  jti: z.string().optional(),
  /** Private chat channels the token may open: names, or prefixes ending in `*`. */
  channels: z.array(z.string()).optional(),
});

/** What a verified token says. */
export type TokenClaims = z.infer<typeof claimsSchema>;

/** A token was missing, forged, expired, already used or revoked: 401 with its code. */
export class AuthError extends ApiError {
  override name = "AuthError";
  declare readonly code:
    | "missing_token"
    | "invalid_token"
    | "expired_token"
    | "token_used"
    | "token_revoked";

  constructor(code: AuthError["code"], message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A signed token and when it stops working. */
export interface IssuedToken {
  token: string;
  expiresAt: string;
}

/** Options for {@linkcode issueToken}. */
export interface IssueOptions {
  userId: string;
  /** Display name; default the user id. */
  name?: string | undefined;
  /** Default {@linkcode DEFAULT_PERMISSIONS}. */
  perms?: string[] | undefined;
  /** Default 24 h. */
  ttlSeconds?: number | undefined;
  /** Default "user". */
  kind?: TokenClaims["kind"];
  /** Grants for private chat channels (see `lib/chat/access.ts`); none by default. */
  channels?: string[] | undefined;
}

/** Signs a token (JWT HS256) with the server secret. */
export async function issueToken(secret: string, options: IssueOptions): Promise<IssuedToken> {
  const nowMs = Date.now();
  const now = Math.floor(nowMs / 1000);
  const kind = options.kind ?? "user";
  const ttl = kind === "stream"
    ? Math.min(options.ttlSeconds ?? STREAM_TOKEN_MAX_SECONDS, STREAM_TOKEN_MAX_SECONDS)
    : options.ttlSeconds ?? 86400;
  const claims: TokenClaims = {
    sub: options.userId,
    name: options.name ?? options.userId,
    perms: options.perms ?? DEFAULT_PERMISSIONS,
    kind,
    iat: now,
    iatMs: nowMs,
    exp: now + ttl,
    ...(kind === "stream" ? { jti: newId() } : {}),
    ...(options.channels?.length ? { channels: options.channels } : {}),
  };
  const token = await sign(claims, await hmacKey(secret), "HS256");
  return { token, expiresAt: new Date(claims.exp * 1000).toISOString() };
}

/** Options of {@linkcode verifyToken}. */
export interface VerifyOptions {
  /**
   * Accept a token past its `exp` (default false). Only for a proof that carries
   * its own limit, such as a signed SSE event id resuming the stream this token
   * opened.
   */
  allowExpired?: boolean;
}

/** Verifies a token's signature and expiry and returns its claims. */
export async function verifyToken(
  secret: string,
  token: string | null | undefined,
  options: VerifyOptions = {},
): Promise<TokenClaims> {
  if (!token) throw new AuthError("missing_token", "A token is required");
  let payload: unknown;
  try {
    payload = await verify(token, await hmacKey(secret), {
      alg: "HS256",
      exp: !options.allowExpired,
    });
  } catch (error) {
    const expired = error instanceof Error && error.name === "JwtTokenExpired";
    throw expired
      ? new AuthError("expired_token", "The token has expired", { cause: error })
      : new AuthError("invalid_token", "The token is not valid", { cause: error });
  }
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success) throw new AuthError("invalid_token", "The token is not valid");
  return parsed.data;
}

/** When a token was issued, in ms (to the second for tokens without `iatMs`). */
export function issuedAt(claims: TokenClaims): number {
  return claims.iatMs ?? claims.iat * 1000;
}

/** True when the claims carry `permission`. */
export function hasPermission(claims: TokenClaims, permission: Permission): boolean {
  return claims.perms.includes(permission);
}
