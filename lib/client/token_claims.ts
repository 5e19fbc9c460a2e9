/** What a Switchboard token says about its holder, read in the browser without verifying it. */
import { decodeBase64Url } from "../text/mod.ts";

/** The claims a page needs: who, shown as what, and until when. */
export interface TokenHolder {
  userId: string;
  name: string;
  /** ISO 8601 time the token stops working. */
  expiresAt: string;
}

/**
 * Reads the holder of a JWT from its payload, without checking the signature
 * (the server does that on every use); null when it is not a token with a
 * subject and an expiry. Names are UTF-8, so they are decoded as such.
 *
 * @example
 * ```ts
 * declare const token: string;
 * tokenHolder(token); // { userId: "guest_01j…", name: "Ada", expiresAt: "2026-…Z" }
 * ```
 */
export function tokenHolder(token: string): TokenHolder | null {
  try {
    const payload = token.split(".")[1] ?? "";
    const claims = JSON.parse(new TextDecoder().decode(decodeBase64Url(payload))) as {
      sub?: unknown;
      name?: unknown;
      exp?: unknown;
    };
    if (typeof claims.sub !== "string" || !claims.sub || typeof claims.exp !== "number") {
      return null;
    }
    return {
      userId: claims.sub,
      name: typeof claims.name === "string" ? claims.name : claims.sub,
      expiresAt: new Date(claims.exp * 1000).toISOString(),
    };
  } catch {
    return null;
  }
}
