/** Sender and receiver tokens: random secrets of which only a hash is stored. */
import { createHash } from "node:crypto";
import { timingSafeEqual } from "../identity/_encoding.ts";
import { encodeBase64Url } from "../text/mod.ts";
import type { TransferRole } from "./record.ts";

/** A new token: 32 random bytes (256 bits), base64url, with a readable prefix. */
export function newTransferToken(prefix: "ts" | "tr"): string {
  return `${prefix}_${encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** SHA-256 of a token, lowercase hex: what the session record keeps. */
export function hashTransferToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** True when `token` hashes to `hash`, compared in constant time. */
export function tokenMatches(token: string, hash: string | null): boolean {
  if (hash === null) return false;
  return timingSafeEqual(hashTransferToken(token), hash);
}

/**
 * Whose token this looks like, by its prefix (`ts_` sender, `tr_` receiver), or
 * null for anything else (e.g. a user token). Only the session can say whether
 * it is valid.
 */
export function transferTokenRole(token: string): TransferRole | null {
  if (token.startsWith("ts_")) return "creator";
  if (token.startsWith("tr_")) return "joiner";
  return null;
}
