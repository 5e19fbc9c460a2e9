/**
 * The pairing secret: random bytes the sender's page puts in the join link's
 * fragment (`/r/K7QX3M#s=…`). Browsers never send a fragment in a request, and
 * no script of ours puts it in a URL, a body or a log, so the server never
 * sees it; the receiver who came through the link mixes it into the key
 * derivation, which is what lets both pages say "Verified".
 */
import { encodeBase64Url } from "../../text/mod.ts";

/** Random bytes in a secret: 128 bits, 22 base64url characters. */
export const SECRET_BYTES = 16;

const SECRET_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** A fresh secret (base64url). */
export function generatePairingSecret(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/**
 * The join link with `secret` in its fragment.
 *
 * @example
 * ```ts
 * linkWithSecret("https://sb.example/r/K7QX3M", "AAAAAAAAAAAAAAAAAAAAAA");
 * // "https://sb.example/r/K7QX3M#s=AAAAAAAAAAAAAAAAAAAAAA"
 * ```
 */
export function linkWithSecret(joinUrl: string, secret: string): string {
  const url = new URL(joinUrl);
  url.hash = `s=${secret}`;
  return url.href;
}

/**
 * The secret in a page's fragment (`location.hash`), or null when there is
 * none or it is not well-formed (an old link, a typed code).
 *
 * @example
 * ```ts
 * secretFromFragment("#s=AAAAAAAAAAAAAAAAAAAAAA"); // "AAAAAAAAAAAAAAAAAAAAAA"
 * secretFromFragment(""); // null
 * ```
 */
export function secretFromFragment(hash: string): string | null {
  const secret = new URLSearchParams(hash.replace(/^#/, "")).get("s");
  return secret && SECRET_PATTERN.test(secret) ? secret : null;
}
