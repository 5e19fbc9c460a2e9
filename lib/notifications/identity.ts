/**
 * A browser's notification identity on our own pages: a guest token kept in
 * localStorage, made with `POST /api/auth/guest` on first visit. Browser-safe.
 */

/** What is kept in localStorage. */
export interface StoredIdentity {
  token: string;
  userId: string;
  name: string;
  expiresAt: string;
}

/** The localStorage key our pages use. */
export const IDENTITY_STORAGE_KEY = "switchboard.notifications.identity";

/** The stored identity, or null when there is none or it expires within an hour. */
export function readIdentity(key = IDENTITY_STORAGE_KEY): StoredIdentity | null {
  try {
    const raw = globalThis.localStorage?.getItem(key);
    if (!raw) return null;
    const value = JSON.parse(raw) as Partial<StoredIdentity>;
    if (
      typeof value.token !== "string" || typeof value.userId !== "string" ||
      typeof value.name !== "string" || typeof value.expiresAt !== "string"
    ) return null;
    if (Date.parse(value.expiresAt) - Date.now() < 3600_000) return null;
    return value as StoredIdentity;
  } catch {
    return null;
  }
}

/** Returns the stored identity, or gets a guest token and stores it. */
export async function ensureGuestIdentity(
  options: { apiBase?: string; key?: string; name?: string; fresh?: boolean } = {},
): Promise<StoredIdentity> {
  const key = options.key ?? IDENTITY_STORAGE_KEY;
  if (!options.fresh) {
    const existing = readIdentity(key);
    if (existing) return existing;
  }
  const name = options.name ?? `Guest ${Math.floor(1000 + Math.random() * 9000)}`;
  const response = await fetch(`${options.apiBase ?? ""}/api/auth/guest`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message ?? "Could not get a guest identity");
  const identity: StoredIdentity = {
    token: body.token,
    userId: body.userId,
    name: body.name,
    expiresAt: body.expiresAt,
  };
  globalThis.localStorage?.setItem(key, JSON.stringify(identity));
  globalThis.dispatchEvent?.(new CustomEvent("switchboard:identity", { detail: identity }));
  return identity;
}
