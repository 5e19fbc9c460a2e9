import assert from "node:assert/strict";
import { roundTripCounter } from "../kv/testing.ts";
import { KvTransferStore } from "./store.ts";
import { TransferError } from "./errors.ts";
import { CODE_ALPHABET } from "./code.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

async function withStore(
  fn: (store: KvTransferStore, clock: { now: number }, kv: Deno.Kv) => Promise<void>,
  options: { tombstoneMs?: number } = {},
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const clock = { now: Date.UTC(2030, 0, 1) };
  const store = new KvTransferStore(kv, {
    now: () => clock.now,
    defaultTtlMs: 30 * MINUTE,
    idleMs: HOUR,
    maxAgeMs: 24 * HOUR,
    tombstoneMs: options.tombstoneMs ?? 24 * HOUR,
  });
  try {
    await fn(store, clock, kv);
  } finally {
    kv.close();
  }
}

async function rejects(promise: Promise<unknown>, code: string, status: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TransferError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    return true;
  });
}

Deno.test("create() gives a code from the alphabet, tokens that are never stored, and the files", async () => {
  await withStore(async (store, clock, kv) => {
    const files = [{ name: "report.pdf", size: 1234, type: "application/pdf" }];
    const { record, senderToken } = await store.create({ files });
    assert.match(record.code, new RegExp(`^[${CODE_ALPHABET}]{6}$`));
    assert.equal(record.state, "created");
    assert.equal(record.expiresAt, clock.now + 30 * MINUTE);
    assert.deepEqual(record.files, files);
    assert.match(senderToken, /^ts_[A-Za-z0-9_-]{43}$/);
    const stored = JSON.stringify((await kv.get(["transfer", record.id])).value);
    assert.ok(!stored.includes(senderToken), "the token itself is not stored");
    assert.deepEqual((await kv.get(["transfer_code", record.code])).value, record);
    assert.deepEqual(await store.findByCode(record.code.toLowerCase()), record);
  });
});

Deno.test("join() succeeds once; the second join is session_already_joined (409)", async () => {
  await withStore(async (store, clock) => {
    const { record } = await store.create();
    clock.now += MINUTE;
    const joined = await store.join(` ${record.code.toLowerCase()} `);
    assert.equal(joined.record.state, "joined");
    assert.equal(joined.record.joinedAt, clock.now);
    assert.equal(joined.record.expiresAt, clock.now + HOUR);
    assert.match(joined.receiverToken, /^tr_/);
    await rejects(store.join(record.code), "session_already_joined", 409);
    await rejects(store.join("ZZZZZZ"), "session_not_found", 404);
    await rejects(store.join("not a code at all"), "session_not_found", 404);
  });
});

Deno.test("join() under 50 concurrent callers lets exactly one through", async () => {
  await withStore(async (store) => {
    for (let round = 0; round < 5; round++) {
      const { record } = await store.create();
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () => store.join(record.code)),
      );
      const won = results.filter((result) => result.status === "fulfilled");
      const lost = results.filter((result) =>
        result.status === "rejected" && result.reason instanceof TransferError &&
        result.reason.code === "session_already_joined"
      );
      assert.equal(won.length, 1);
      assert.equal(lost.length, 49);
    }
  });
});

Deno.test("an unjoined session expires after its ttl, on read before any sweep", async () => {
  await withStore(async (store, clock) => {
    const { record, senderToken } = await store.create({ ttlSeconds: 5 });
    clock.now += 4_999;
    assert.equal((await store.get(record.id))?.state, "created");
    clock.now += 1;
    assert.equal((await store.get(record.id))?.state, "expired");
    await rejects(store.join(record.code), "session_expired", 410);
    await rejects(store.authorize(record.code, "creator", senderToken), "session_expired", 410);
    await rejects(store.close(record.id, senderToken), "session_expired", 410);
  });
});

Deno.test("an unjoined session lives on while its creator is connected, up to 24 h", async () => {
  await withStore(async (store, clock) => {
    // A touch never shortens a ttl longer than the idle time.
    const long = await store.create({ ttlSeconds: 2 * 3600 });
    clock.now += MINUTE;
    assert.equal((await store.touch(long.record.id))?.expiresAt, long.record.expiresAt);

    const { record } = await store.create({ ttlSeconds: 300 });
    const createdAt = clock.now;
    await store.touch(record.id); // the creator's socket opens
    // The creator stays connected: well past the ttl, the session waits for its joiner.
    for (let step = 0; step < 28; step++) {
      clock.now += 50 * MINUTE;
      const touched = await store.touch(record.id);
      assert.equal(touched?.state, "created");
      assert.equal(touched?.expiresAt, Math.min(clock.now + HOUR, createdAt + 24 * HOUR));
    }
    clock.now = createdAt + 24 * HOUR;
    assert.equal((await store.touch(record.id))?.state, "expired", "24 h at most");

    // The creator left at its last touch: an idle hour later it is over; it can still be joined
    // until then.
    const second = await store.create({ ttlSeconds: 300 });
    clock.now += 4 * MINUTE;
    await store.touch(second.record.id);
    clock.now += HOUR - 1;
    assert.equal((await store.get(second.record.id))?.state, "created");
    await store.join(second.record.code);
  });
});

Deno.test("a joined session lives while touched, an idle hour after, and 24 h at most", async () => {
  await withStore(async (store, clock) => {
    const { record } = await store.create();
    const createdAt = clock.now;
    await store.join(record.code);
    // A peer stays connected: touches keep moving the expiry.
    for (let hour = 0; hour < 20; hour++) {
      clock.now += 50 * MINUTE;
      const touched = await store.touch(record.id);
      assert.equal(touched?.state, "joined");
      assert.equal(touched?.expiresAt, Math.min(clock.now + HOUR, createdAt + 24 * HOUR));
    }
    // Both left at the last touch: an idle hour later it is over.
    clock.now += HOUR - 1;
    assert.equal((await store.get(record.id))?.state, "joined");
    clock.now += 1;
    assert.equal((await store.get(record.id))?.state, "expired");

    const second = await store.create();
    const start = clock.now;
    await store.join(second.record.code);
    while (clock.now < start + 24 * HOUR - 10 * MINUTE) {
      clock.now = Math.min(clock.now + 50 * MINUTE, start + 24 * HOUR - 10 * MINUTE);
      await store.touch(second.record.id);
    }
    assert.equal((await store.touch(second.record.id))?.expiresAt, start + 24 * HOUR);
    clock.now = start + 24 * HOUR;
    assert.equal((await store.touch(second.record.id))?.state, "expired", "24 h at most");
  });
});

Deno.test("authorize() checks the token of the role, then the state", async () => {
  await withStore(async (store) => {
    const { record, senderToken } = await store.create();
    assert.equal((await store.authorize(record.code, "creator", senderToken)).id, record.id);
    await rejects(
      store.authorize(record.code, "joiner", senderToken),
      "invalid_transfer_token",
      403,
    );
    await rejects(
      store.authorize(record.code, "creator", "ts_wrong"),
      "invalid_transfer_token",
      403,
    );
    const { receiverToken } = await store.join(record.code);
    assert.equal((await store.authorize(record.code, "joiner", receiverToken)).state, "joined");
    await rejects(
      store.authorize(record.code, "creator", receiverToken),
      "invalid_transfer_token",
      403,
    );
    await rejects(store.authorize("ZZZZZZ", "creator", senderToken), "session_not_found", 404);
  });
});

Deno.test("close() takes either token, is idempotent, and then refuses everything with 410", async () => {
  await withStore(async (store) => {
    const { record, senderToken } = await store.create();
    const { receiverToken } = await store.join(record.code);
    await rejects(store.close(record.id, "nope"), "invalid_transfer_token", 403);
    const closed = await store.close(record.id, receiverToken);
    assert.equal(closed.role, "joiner");
    assert.equal(closed.changed, true);
    assert.equal(closed.record.state, "closed");
    assert.equal(closed.record.endedBy, "joiner");
    const again = await store.close(record.id, senderToken);
    assert.equal(again.changed, false);
    await rejects(store.join(record.code), "session_closed", 410);
    await rejects(store.authorize(record.code, "creator", senderToken), "session_closed", 410);
    await rejects(store.close("01NOPE", senderToken), "session_not_found", 404);
  });
});

Deno.test("sweep() expires due sessions exactly once, then purges them and frees their code", async () => {
  await withStore(async (store, clock, kv) => {
    const due = await store.create({ ttlSeconds: 60 });
    const later = await store.create({ ttlSeconds: 600 });
    clock.now += 61_000;
    const [first, second] = await Promise.all([store.sweep(), store.sweep()]);
    assert.deepEqual(
      [...first.expired, ...second.expired].map((record) => record.id),
      [due.record.id],
      "two overlapping sweeps report the expiry once",
    );
    assert.equal(
      (await kv.get<{ state: string }>(["transfer", due.record.id])).value?.state,
      "expired",
    );
    assert.equal((await store.get(later.record.id))?.state, "created");
    // Tombstone time (1 h here) later the record and its code index are gone.
    clock.now += HOUR;
    const purge = await store.sweep();
    assert.equal(purge.purged, 1);
    assert.equal((await kv.get(["transfer", due.record.id])).versionstamp, null);
    assert.equal((await kv.get(["transfer_code", due.record.code])).versionstamp, null);
    assert.equal(await store.findByCode(due.record.code), null);
    const left = [];
    for await (const entry of kv.list({ prefix: ["transfer_due"] })) left.push(entry.key);
    assert.equal(left.length, 1, "only the live session is still scheduled");
  }, { tombstoneMs: HOUR });
});

Deno.test("create() never hands out a code that a live session holds", async () => {
  await withStore(async (store, _clock, kv) => {
    const live = new Set<string>();
    for (let index = 0; index < 300; index++) {
      const { record } = await store.create();
      assert.ok(!live.has(record.code), `duplicate code ${record.code}`);
      live.add(record.code);
    }
    let indexed = 0;
    for await (const _ of kv.list({ prefix: ["transfer_code"] })) indexed += 1;
    assert.equal(indexed, 300);
  });
});

Deno.test("create() costs one KV round trip, join() two, findByCode() one", async () => {
  const raw = await Deno.openKv(":memory:");
  const counter = roundTripCounter(raw);
  const store = new KvTransferStore(counter.kv);
  try {
    const created = await counter.count(() => store.create());
    assert.equal(created.roundTrips, 1);
    const found = await counter.count(() => store.findByCode(created.value.record.code));
    assert.equal(found.roundTrips, 1);
    const joined = await counter.count(() => store.join(created.value.record.code));
    assert.equal(joined.roundTrips, 2);
    assert.equal(joined.value.record.state, "joined");
  } finally {
    raw.close();
  }
});

Deno.test("an ended session's code goes to a new session, and the old one's later changes leave it alone", async () => {
  const kv = await Deno.openKv(":memory:");
  const clock = { now: Date.UTC(2030, 0, 1) };
  let next = "AAAAAA";
  const store = new KvTransferStore(kv, {
    now: () => clock.now,
    codes: () => next,
    tombstoneMs: HOUR,
    defaultTtlMs: 12 * HOUR,
  });
  try {
    const old = await store.create();
    await store.join("AAAAAA");
    const closedOld = await store.close(old.record.id, old.senderToken);
    assert.equal(closedOld.record.state, "closed");
    // A live session keeps its code: the next create must pick another one.
    const taken = await store.create();
    assert.equal(taken.record.code, "AAAAAA", "the ended session's code is free again");
    next = "BBBBBB";
    const other = await store.create();
    assert.equal(other.record.code, "BBBBBB");
    next = "AAAAAA";
    await assert.rejects(
      () => store.create(),
      (error: unknown) => error instanceof TransferError && error.code === "code_space_exhausted",
    );
    // The old session is purged by the sweeper without touching the code's new holder.
    clock.now += 2 * HOUR;
    const swept = await store.sweep();
    assert.ok(swept.purged >= 1);
    assert.equal((await store.findByCode("AAAAAA"))?.id, taken.record.id);
    assert.equal((await store.join("AAAAAA")).record.id, taken.record.id);
    assert.equal(await store.get(old.record.id), null);
  } finally {
    kv.close();
  }
});
