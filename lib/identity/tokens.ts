import { sign, verify } from "hono/jwt";
import { newId } from "../ids/mod.ts";
import { z } from "zod";
import { retryWhileBusy } from "../kv/mod.ts";

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
export const USER_PERMISSIONS: readonly Permission[] = PERMISSIONS.filter((perm) =>
  perm !== "admin"
);

/** True for a permission a user token may carry (see {@linkcode USER_PERMISSIONS}). */
export function isUserPermission(permission: string): boolean {
  return (USER_PERMISSIONS as readonly string[]).includes(permission);
}

/** Permissions of a guest and of a user token minted without `perms`. */
export const DEFAULT_PERMISSIONS: Permission[] = ["chat:read", "chat:write"];

/** The longest life of a stream token. */
export const STREAM_TOKEN_MAX_SECONDS = 60;

const claimsSchema = z.object({
  sub: z.string().min(1).max(128),
  name: z.string().max(64),
  perms: z.array(z.string()),
  kind: z.enum(["user", "guest", "stream"]),
  exp: z.number(),
  iat: z.number(),
  jti: z.string().optional(),
});

/** What a verified token says. */
export type TokenClaims = z.infer<typeof claimsSchema>;

/** A token was missing, forged, expired or already used. */
export class AuthError extends Error {
  override name = "AuthError";
  readonly code: "missing_token" | "invalid_token" | "expired_token" | "token_used";

  constructor(code: AuthError["code"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
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
}

/** Signs a token (JWT HS256) with the server secret. */
export async function issueToken(secret: string, options: IssueOptions): Promise<IssuedToken> {
  const now = Math.floor(Date.now() / 1000);
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
    exp: now + ttl,
    ...(kind === "stream" ? { jti: newId() } : {}),
  };
  const token = await sign(claims, secret, "HS256");
  return { token, expiresAt: new Date(claims.exp * 1000).toISOString() };
}

/** Verifies a token's signature and expiry and returns its claims. */
export async function verifyToken(
  secret: string,
  token: string | null | undefined,
): Promise<TokenClaims> {
  if (!token) throw new AuthError("missing_token", "A token is required");
  let payload: unknown;
  try {
    payload = await verify(token, secret, "HS256");
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

/**
 * Verifies a token for opening a stream. A stream token is single-use: the first
 * use records its id in KV (atomically, so two isolates cannot both accept it).
 * User and guest tokens are accepted too (non-browser clients, chat).
 */
export async function verifyStreamToken(
  kv: Deno.Kv,
  secret: string,
  token: string | null | undefined,
): Promise<TokenClaims> {
  const claims = await verifyToken(secret, token);
  if (claims.kind !== "stream") return claims;
  const key = ["stream_token_used", claims.jti ?? ""];
  const result = await retryWhileBusy(() =>
    kv.atomic().check({ key, versionstamp: null })
      .set(key, true, { expireIn: (STREAM_TOKEN_MAX_SECONDS + 60) * 1000 })
      .commit()
  );
  if (!result.ok) throw new AuthError("token_used", "The stream token was already used");
  return claims;
}

/** True when the claims carry `permission`. */
export function hasPermission(claims: TokenClaims, permission: Permission): boolean {
  return claims.perms.includes(permission);
}
