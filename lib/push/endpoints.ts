/**
 * Which push endpoints Switchboard sends to. A subscription's endpoint comes
 * from a browser, so it is a URL anyone can choose: without a list, storing one
 * would let any user make the server POST to internal addresses (SSRF). Only
 * the browsers' own push services are allowed by default.
 */

/**
 * The push services of the browsers, as host patterns: Chrome, Edge on
 * Android and other Chromium browsers (FCM), Firefox (Mozilla autopush),
 * Edge on Windows (WNS) and Safari (Apple).
 */
export const KNOWN_PUSH_SERVICE_HOSTS: readonly string[] = [
  "fcm.googleapis.com",
  "*.push.services.mozilla.com",
  "*.notify.windows.com",
  "*.push.apple.com",
];

/**
 * True when `url`'s host fits `pattern`: `name` (port 443 only), `name:port`,
 * or `*.suffix` (any subdomain of `suffix`, port 443 only).
 */
function hostFits(url: URL, pattern: string): boolean {
  const entry = pattern.toLowerCase();
  if (entry.startsWith("*.")) return url.port === "" && url.hostname.endsWith(entry.slice(1));
  if (entry.includes(":")) return url.host === entry;
  return url.port === "" && url.hostname === entry;
}

/**
 * Why `endpoint` may not be used as a push endpoint, or null when it may: it
 * must be an `https:` URL without credentials on a known push service's host,
 * or on one of `extraHosts` (`PUSH_ENDPOINT_HOSTS`).
 *
 * @example
 * ```ts
 * pushEndpointProblem("https://fcm.googleapis.com/fcm/send/abc"); // null
 * pushEndpointProblem("https://169.254.169.254/latest"); // "…is not a known push service…"
 * ```
 */
export function pushEndpointProblem(
  endpoint: string,
  extraHosts: readonly string[] = [],
): string | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return "The endpoint is not a URL";
  }
  if (url.protocol !== "https:") return "Push endpoints must be https: URLs";
  if (url.username || url.password) return "Push endpoints may not carry credentials";
  const allowed = [...KNOWN_PUSH_SERVICE_HOSTS, ...extraHosts];
  if (allowed.some((pattern) => hostFits(url, pattern))) return null;
  return `"${url.host.slice(0, 100)}" is not a known push service ` +
    "(FCM, Mozilla, Windows, Apple; PUSH_ENDPOINT_HOSTS adds others)";
}
