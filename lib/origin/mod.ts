/**
 * @module
 * The origin links are built with (join URLs, download URLs): `PUBLIC_URL`
 * when set, otherwise the request's own origin, but only when its host is
 * trusted: a loopback name (`deno task start` on localhost) or one listed in
 * `PUBLIC_HOSTS`. Anything else came from a `Host` header anyone can forge, and
 * a link built from it would lead to another site.
 */

/** Where links may point (from `PUBLIC_URL` and `PUBLIC_HOSTS`). */
export interface OriginPolicy {
  /** `PUBLIC_URL`: when set, links always use it and the request's host does not matter. */
  publicUrl?: string | undefined;
  /**
   * `PUBLIC_HOSTS`: hosts whose requests may build links with their own origin;
   * `name` allows every port of that host, `name:port` only that port. Default none.
   */
  publicHosts?: readonly string[];
}

/** One `PUBLIC_HOSTS` entry: a host name or IP literal, optionally with a port. */
export const HOST_ENTRY_PATTERN =
  /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(?::\d{1,5})?$/i;

/**
 * True for names that always mean this machine: `localhost`, `*.localhost`
 * (RFC 6761), `127.0.0.0/8` and `[::1]`.
 *
 * @example
 * ```ts
 * isLoopbackHost("localhost"); // true
 * isLoopbackHost("evil.example"); // false
 * ```
 */
export function isLoopbackHost(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost") || name === "[::1]" ||
    /^127(?:\.\d{1,3}){3}$/.test(name);
}

/**
 * The origin links to this request may use, or null when the request's host is
 * not trusted (then build no link: refuse, or use a relative one).
 *
 * @example
 * ```ts
 * trustedOrigin("http://localhost:8000/api/upload", {}); // "http://localhost:8000"
 * trustedOrigin("http://evil.example/api/upload", {}); // null
 * trustedOrigin("http://evil.example/x", { publicUrl: "https://sb.example/" }); // "https://sb.example"
 * ```
 */
export function trustedOrigin(requestUrl: string, policy: OriginPolicy): string | null {
  if (policy.publicUrl) return policy.publicUrl.replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (isLoopbackHost(url.hostname)) return url.origin;
  const hostname = url.hostname.toLowerCase();
  // `host` carries the port unless it is the scheme's default.
  const host = url.host.toLowerCase();
  for (const entry of policy.publicHosts ?? []) {
    const allowed = entry.toLowerCase();
    if (allowed === hostname || allowed === host) return url.origin;
  }
  return null;
}
