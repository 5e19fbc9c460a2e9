import assert from "node:assert/strict";
import { encodeBase64Url } from "../text/mod.ts";
import {
  ApiClientError,
  forgetGuest,
  GUEST_STORAGE_KEY,
  type GuestIdentity,
  guestIdentity,
  type GuestStorage,
  hasGuest,
  readGuest,
  tokenHolder,
} from "./mod.ts";

const NOW = Date.parse("2026-11-20T12:00:00Z");
const DAY = 86400_000;

function memoryStorage(entries: Record<string, string> = {}): GuestStorage & {
  entries: Record<string, string>;
} {
  return {
    entries,
    getItem: (key) => entries[key] ?? null,
    setItem: (key, value) => void (entries[key] = value),
    removeItem: (key) => void delete entries[key],
  };
}

/** An unsigned token with these claims (the browser never verifies). */
function token(claims: Record<string, unknown>): string {
  const part = (value: unknown) => encodeBase64Url(new TextEncoder().encode(JSON.stringify(value)));
  return `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}.c2ln`;
}

function identity(userId: string, name: string, expiresAt: number): GuestIdentity {
  return {
    token: token({ sub: userId, name, exp: expiresAt / 1000 }),
    userId,
    name,
    expiresAt: new Date(expiresAt).toISOString(),
  };
}

/** A guest endpoint that hands out guest_1, guest_2, … and records the names asked for. */
function guestServer(): { fetch: typeof fetch; names: string[] } {
  const names: string[] = [];
  return {
    names,
    fetch: async (input, init) => {
      assert.equal(String(input), "/api/auth/guest");
      assert.equal(init?.method, "POST");
      const { name } = JSON.parse(String(init?.body)) as { name: string };
      names.push(name);
      const issued = identity(`guest_${names.length}`, name, NOW + 7 * DAY);
      return await Promise.resolve(Response.json(issued, { status: 201 }));
    },
  };
}

Deno.test("tokenHolder() reads subject, UTF-8 name and expiry from a token without verifying it", () => {
  assert.deepEqual(tokenHolder(token({ sub: "guest_1", name: "José 😀", exp: NOW / 1000 })), {
    userId: "guest_1",
    name: "José 😀",
    expiresAt: new Date(NOW).toISOString(),
  });
  assert.equal(tokenHolder(token({ name: "no subject", exp: 1 })), null);
  assert.equal(tokenHolder("not a token"), null);
});

Deno.test("guestIdentity() creates a guest once and every later call, on any page, gets the same one", async () => {
  const storage = memoryStorage();
  const server = guestServer();
  const first = await guestIdentity({ storage, fetch: server.fetch, now: () => NOW });
  const second = await guestIdentity({ storage, fetch: server.fetch, now: () => NOW });
  assert.equal(first.userId, "guest_1");
  assert.deepEqual(second, first);
  assert.equal(server.names.length, 1);
  assert.match(server.names[0]!, /^Guest \d{4}$/);
  assert.deepEqual(readGuest({ storage, now: () => NOW }), first);
  assert.deepEqual(JSON.parse(storage.entries[GUEST_STORAGE_KEY]!), first);
});

Deno.test("guestIdentity() renews a guest that runs out within the hour under the same name", async () => {
  const storage = memoryStorage({
    [GUEST_STORAGE_KEY]: JSON.stringify(identity("guest_old", "Ada", NOW + 30 * 60_000)),
  });
  const server = guestServer();
  assert.equal(readGuest({ storage, now: () => NOW }), null, "too close to its expiry to use");
  assert.equal(hasGuest({ storage }), true);
  const renewed = await guestIdentity({ storage, fetch: server.fetch, now: () => NOW });
  assert.deepEqual(server.names, ["Ada"]);
  assert.equal(renewed.name, "Ada");
  assert.deepEqual(readGuest({ storage, now: () => NOW }), renewed);
});

Deno.test("guestIdentity({ fresh }) makes a new guest with the given name and replaces the stored one", async () => {
  const storage = memoryStorage();
  const server = guestServer();
  const before = await guestIdentity({ storage, fetch: server.fetch, now: () => NOW });
  const after = await guestIdentity({
    storage,
    fetch: server.fetch,
    now: () => NOW,
    name: "Bob",
    fresh: true,
  });
  assert.notEqual(after.userId, before.userId);
  assert.equal(after.name, "Bob");
  assert.deepEqual(readGuest({ storage, now: () => NOW }), after);
  forgetGuest({ storage });
  assert.equal(readGuest({ storage, now: () => NOW }), null);
  assert.equal(hasGuest({ storage }), false);
});

Deno.test("readGuest() takes over the notifications page's old identity and removes the old key", () => {
  const old = identity("guest_n", "Guest 4821", NOW + 5 * DAY);
  const storage = memoryStorage({ "switchboard.notifications.identity": JSON.stringify(old) });
  assert.deepEqual(readGuest({ storage, now: () => NOW }), old);
  assert.deepEqual(Object.keys(storage.entries), [GUEST_STORAGE_KEY]);
});

Deno.test("readGuest() takes over the chat page's old token-only guest, reading the rest from the token", () => {
  const old = identity("guest_c", "Ada", NOW + 6 * DAY);
  const storage = memoryStorage({ "switchboard.chat.guest": JSON.stringify({ token: old.token }) });
  assert.deepEqual(readGuest({ storage, now: () => NOW }), old);
  assert.deepEqual(Object.keys(storage.entries), [GUEST_STORAGE_KEY]);
});

Deno.test("readGuest() keeps the longer-lived of two old identities, so chat and notifications become one user", () => {
  const chat = identity("guest_c", "Ada", NOW + 6 * DAY);
  const notifications = identity("guest_n", "Guest 4821", NOW + 2 * DAY);
  const storage = memoryStorage({
    "switchboard.chat.guest": JSON.stringify({ token: chat.token }),
    "switchboard.notifications.identity": JSON.stringify(notifications),
  });
  assert.deepEqual(readGuest({ storage, now: () => NOW }), chat);
  forgetGuest({ storage });
  assert.equal(hasGuest({ storage }), false, "a forgotten guest does not come back from old keys");
});

Deno.test("readGuest() ignores what is not an identity", () => {
  for (const raw of ["{oops", "null", '{"token":5}', '{"token":"not.a.token"}']) {
    assert.equal(readGuest({ storage: memoryStorage({ [GUEST_STORAGE_KEY]: raw }) }), null, raw);
  }
  assert.equal(readGuest({ storage: undefined }), null, "no storage, no identity");
});

Deno.test("guestIdentity() rejects with the server's error when guests are turned off", async () => {
  const refusing: typeof fetch = () =>
    Promise.resolve(
      Response.json({
        error: { code: "guests_disabled", message: "Guest access is turned off on this server" },
      }, { status: 403 }),
    );
  const storage = memoryStorage();
  await assert.rejects(
    guestIdentity({ storage, fetch: refusing }),
    (error: unknown) =>
      error instanceof ApiClientError && error.code === "guests_disabled" && error.status === 403,
  );
  assert.deepEqual(storage.entries, {});
});
