/**
 * Which notification links may become anchors. Browser-safe (no zod), so the
 * bell and the publish-time schema share it.
 */

/**
 * The origin relative links are resolved against when the page's own is not
 * known (on the server, when a notification is published): a relative link
 * must stay on whatever site renders it.
 */
export const STAND_IN_ORIGIN = "https://switchboard.invalid";

const MAX_LINK_LENGTH = 2048;
// Whitespace and control characters: the URL parser drops tabs and newlines anywhere and trims
// the ends, so "/\t/evil.example" would reach the browser as "//evil.example".
const UNPRINTABLE = /[\s\u0000-\u001f\u007f]/;
const ABSOLUTE_HTTP = /^https?:\/\//i;

/**
 * `link` when it is safe to render as an anchor on a page of `pageOrigin`, else null:
 *
 * - an absolute `http://` or `https://` URL, to any site;
 * - a relative link (`/d/abc`, `d/abc`, `?page=2`) only when the URL the browser
 *   would make of it (`new URL(link, pageOrigin)`, the WHATWG parser browsers use:
 *   backslashes count as slashes) has the page's origin. That refuses
 *   `//evil.example`, `/\evil.example`, `\\evil.example`, and any other scheme
 *   (`javascript:`, `data:`, `blob:`), whatever its letter case.
 *
 * Whitespace and control characters are refused anywhere, and so is a
 * `pageOrigin` that is not a URL (the check fails closed).
 *
 * @example
 * ```ts
 * safeLinkTarget("/d/abc", "https://app.example"); // "/d/abc"
 * safeLinkTarget("/\\evil.example/login", "https://app.example"); // null
 * safeLinkTarget("https://docs.example/x", "https://app.example"); // "https://docs.example/x"
 * ```
 */
export function safeLinkTarget(link: unknown, pageOrigin: string = STAND_IN_ORIGIN): string | null {
  if (typeof link !== "string" || link.length === 0 || link.length > MAX_LINK_LENGTH) return null;
  if (UNPRINTABLE.test(link)) return null;
  let origin: string;
  let resolved: URL;
  try {
    origin = new URL(pageOrigin).origin;
    resolved = new URL(link, origin);
  } catch {
    return null;
  }
  if (resolved.protocol !== "http:" && resolved.protocol !== "https:") return null;
  if (ABSOLUTE_HTTP.test(link)) return link;
  return resolved.origin === origin ? link : null;
}
