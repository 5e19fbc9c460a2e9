/**
 * The guest identity of this browser, one for every page (chat, notifications,
 * share): a guest token from `POST /api/auth/guest`, kept in localStorage under
 * one key, renewed when it runs out. Identities kept under the keys the chat and
 * notifications pages used before are taken over, so a browser stays who it was.
 */
import { apiFetch } from "./api_fetch.ts";
import { tokenHolder } from "./token_claims.ts";

/** A guest: its token and what the token says. */
export interface GuestIdentity {
  token: string;
  userId: string;
  name: string;
  /** ISO 8601 time the token stops working. */
  expiresAt: string;
}

/** Where a browser keeps its guest identity. */
export type GuestStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/** The localStorage key of the guest identity, as JSON {@linkcode GuestIdentity}. */
export const GUEST_STORAGE_KEY = "switchboard.guest";

/**
 * Keys earlier versions kept a guest under: the notifications page (a whole
 * {@linkcode GuestIdentity}) and the chat page (`{"token"}` only).
 */
export const LEGACY_GUEST_KEYS: readonly string[] = [
  "switchboard.notifications.identity",
  "switchboard.chat.guest",
];

/** The window event sent when a new guest identity is stored (`detail`: the identity). */
export const GUEST_EVENT = "switchboard:identity";

/** A stored identity this close to its expiry is renewed rather than used. */
export const GUEST_RENEW_MARGIN_MS = 3600_000;

/** Options of the guest functions. */
export interface GuestOptions {
  /** Default `globalThis.localStorage` (none: nothing is kept). */
  storage?: GuestStorage | undefined;
  /** Default {@linkcode GUEST_STORAGE_KEY}. */
  key?: string;
  /** The clock (ms since the epoch). Default `Date.now`. */
  now?: () => number;
}

/** Options of {@linkcode guestIdentity}. */
export interface GuestIdentityOptions extends GuestOptions {
  /** The name of a new guest. Default: the stored guest's, else "Guest" and four digits. */
  name?: string;
  /** Make a new guest even when a usable one is stored (default false). */
  fresh?: boolean;
  /** The Switchboard origin; "" (default) for the page's own. */
  apiBase?: string;
  /** The `fetch` to use (tests). Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

function storageOf(options: GuestOptions): GuestStorage | undefined {
  if ("storage" in options) return options.storage;
  try {
    return globalThis.localStorage ?? undefined;
  } catch {
    return undefined; // storage disabled
  }
}

function parseIdentity(raw: string | null): GuestIdentity | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Partial<GuestIdentity> | null;
    if (typeof value?.token !== "string") return null;
    if (
      typeof value.userId === "string" && typeof value.name === "string" &&
      typeof value.expiresAt === "string"
    ) {
      return {
        token: value.token,
        userId: value.userId,
        name: value.name,
        expiresAt: value.expiresAt,
      };
    }
    // The chat page kept the token alone.
    const holder = tokenHolder(value.token);
    return holder ? { token: value.token, ...holder } : null;
  } catch {
    return null;
  }
}

/**
 * The stored identity, usable or not; takes over the old keys' (the one that
 * lasts longest) the first time and removes them, so they never come back.
 */
function storedIdentity(storage: GuestStorage, key: string): GuestIdentity | null {
  const current = parseIdentity(storage.getItem(key));
  if (current || key !== GUEST_STORAGE_KEY) return current;
  let best: GuestIdentity | null = null;
  for (const legacy of LEGACY_GUEST_KEYS) {
    const found = parseIdentity(storage.getItem(legacy));
    if (found && (!best || Date.parse(found.expiresAt) > Date.parse(best.expiresAt))) best = found;
  }
  for (const legacy of LEGACY_GUEST_KEYS) storage.removeItem(legacy);
  if (best) storage.setItem(key, JSON.stringify(best));
  return best;
}

function usable(identity: GuestIdentity | null, now: number): identity is GuestIdentity {
  return identity !== null && Date.parse(identity.expiresAt) - now > GUEST_RENEW_MARGIN_MS;
}

/**
 * The guest identity of this browser when one is stored and not about to
 * expire; null otherwise. Never asks the server.
 *
 * @example
 * ```ts
 * declare const connect: (token: string) => void;
 * const guest = readGuest();
 * if (guest) connect(guest.token);
 * ```
 */
export function readGuest(options: GuestOptions = {}): GuestIdentity | null {
  const storage = storageOf(options);
  if (!storage) return null;
  try {
    const identity = storedIdentity(storage, options.key ?? GUEST_STORAGE_KEY);
    return usable(identity, (options.now ?? Date.now)()) ? identity : null;
  } catch {
    return null;
  }
}

/** True when a guest is stored, usable or not (one that ran out is renewed under its name). */
export function hasGuest(options: GuestOptions = {}): boolean {
  const storage = storageOf(options);
  try {
    return storage ? storedIdentity(storage, options.key ?? GUEST_STORAGE_KEY) !== null : false;
  } catch {
    return false;
  }
}

/** Forgets the guest identity of this browser (every page's). */
export function forgetGuest(options: GuestOptions = {}): void {
  try {
    storageOf(options)?.removeItem(options.key ?? GUEST_STORAGE_KEY);
  } catch { /* storage disabled */ }
}

async function createGuest(
  name: string,
  storage: GuestStorage | undefined,
  options: GuestIdentityOptions,
): Promise<GuestIdentity> {
  const body = await apiFetch<GuestIdentity>(`${options.apiBase ?? ""}/api/auth/guest`, {
    method: "POST",
    json: { name },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  // Only the identity's fields are kept, whatever else the answer carries.
  const { token, userId, expiresAt } = body;
  const identity: GuestIdentity = { token, userId, name: body.name, expiresAt };
  try {
    storage?.setItem(options.key ?? GUEST_STORAGE_KEY, JSON.stringify(identity));
  } catch { /* storage full or disabled: this page still has it */ }
  globalThis.dispatchEvent?.(new CustomEvent(GUEST_EVENT, { detail: identity }));
  return identity;
}

/**
 * The guest identity of this browser: the stored one while it is usable,
 * otherwise a new guest token (`POST /api/auth/guest`), stored for every page.
 * One that ran out is renewed under the same name. Tabs that ask at the same
 * time get the same guest (a Web Lock orders them where the browser has one).
 * Rejects with `ApiClientError` (e.g. `guests_disabled`).
 *
 * @example
 * ```ts
 * const guest = await guestIdentity();              // get or create
 * const renamed = await guestIdentity({ name: "Ada", fresh: true }); // a new guest
 * ```
 */
export async function guestIdentity(options: GuestIdentityOptions = {}): Promise<GuestIdentity> {
  const storage = storageOf(options);
  const key = options.key ?? GUEST_STORAGE_KEY;
  const getOrCreate = (): Promise<GuestIdentity> => {
    let stored: GuestIdentity | null = null;
    try {
      stored = storage ? storedIdentity(storage, key) : null;
    } catch { /* storage disabled */ }
    if (!options.fresh && usable(stored, (options.now ?? Date.now)())) {
      return Promise.resolve(stored);
    }
    const name = options.name ?? stored?.name ??
      `Guest ${Math.floor(1000 + Math.random() * 9000)}`;
    return createGuest(name, storage, options);
  };
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks || options.fresh) return await getOrCreate();
  return await locks.request(key, getOrCreate);
}
