import assert from "node:assert/strict";
import { ApiError } from "../errors/mod.ts";
import { enforceRateLimit, KvRateLimiter, MemoryRateLimiter } from "./mod.ts";
import { countingCommits, roundTripCounter } from "../kv/testing.ts";
import { openKv } from "../kv/mod.ts";

// A fixed time in the middle of a window: a test never straddles a window's end.
const NOW = 1_800_000_030_000;
const now = () => NOW;

Deno.test("KvRateLimiter counts across two KV handles of one database once each wrote its counts", async () => {
  const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
  await using first = await openKv(path);
  await using second = await openKv(path);
  await using a = new KvRateLimiter(first, { now });
  await using b = new KvRateLimiter(second, { now });
  const rule = { limit: 5, windowMs: 60_000 };
  const allowed: boolean[] = [];
  for (let index = 0; index < 8; index++) {
    const limiter = index % 2 ? a : b;
    allowed.push((await limiter.consume("join", "10.0.0.1", rule)).allowed);
    await limiter.flushed();
  }
  // The other handle learns a count when its own write meets the newer versionstamp.
  assert.ok(allowed.filter(Boolean).length <= 6, `${allowed}`);
  await a.flushed();
  await b.flushed();
  const stored = await first.get<number>([
    "rate_limit",
    "join",
    "10.0.0.1",
    60_000,
    Math.floor(NOW / 60_000),
  ]);
  assert.equal(stored.value, allowed.filter(Boolean).length, "every admitted call is stored once");
  assert.equal((await a.consume("join", "10.0.0.1", rule)).allowed, false);
  assert.equal((await b.consume("join", "10.0.0.1", rule)).allowed, false);
  assert.equal((await a.consume("join", "10.0.0.2", rule)).allowed, true, "another key");
});

Deno.test("KvRateLimiter: a concurrent burst on two handles passes the limit at most by what the other admitted", async () => {
  const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
  await using first = await openKv(path);
  await using second = await openKv(path);
  await using a = new KvRateLimiter(first, { now });
  await using b = new KvRateLimiter(second, { now });
  const rule = { limit: 5, windowMs: 60_000 };
  const results = await Promise.all(
    Array.from({ length: 16 }, (_, index) => (index % 2 ? a : b).consume("join", "x", rule)),
  );
  const admitted = results.filter((result) => result.allowed).length;
  assert.ok(admitted >= 5 && admitted <= 10, `admitted ${admitted}`);
  await a.flushed();
  await b.flushed();
  const key = ["rate_limit", "join", "x", 60_000, Math.floor(NOW / 60_000)];
  assert.equal((await first.get<number>(key)).value, admitted, "nothing lost or counted twice");
});

Deno.test("KvRateLimiter decides without a KV round trip", async () => {
  await using kv = await Deno.openKv(":memory:");
  const counter = roundTripCounter(kv);
  await using limiter = new KvRateLimiter(counter.kv);
  const { value, roundTrips } = await counter.count(() =>
    limiter.consume("requests", "10.0.0.5", { limit: 2, windowMs: 60_000 })
  );
  assert.equal(value.allowed, true);
  assert.equal(roundTrips, 0);
});

Deno.test("KvRateLimiter starts a new window on the injected clock", async () => {
  await using kv = await Deno.openKv(":memory:");
  let now = 1_000_000;
  await using limiter = new KvRateLimiter(kv, { now: () => now });
  const rule = { limit: 1, windowMs: 60_000 };
  assert.equal((await limiter.consume("b", "k", rule)).allowed, true);
  const refused = await limiter.consume("b", "k", rule);
  assert.equal(refused.allowed, false);
  assert.equal(refused.retryAfterSeconds, Math.ceil((1_020_000 - now) / 1000));
  now += 60_000;
  assert.equal((await limiter.consume("b", "k", rule)).allowed, true);
});

Deno.test("enforceRateLimit() throws 429 rate_limited with Retry-After", async () => {
  let time = 1_800_000_003_500; // 3.5 s into a 10 s window
  const limiter = new MemoryRateLimiter({ now: () => time });
  const rule = { limit: 1, windowMs: 10_000 };
  await enforceRateLimit(limiter, "upload", "a", rule);
  await assert.rejects(() => enforceRateLimit(limiter, "upload", "a", rule), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 429);
    assert.equal(error.code, "rate_limited");
    assert.equal(error.headers["Retry-After"], "7", "the seconds left in the window, rounded up");
    return true;
  });
  time += 6_500; // the next window
  await enforceRateLimit(limiter, "upload", "a", rule);
});

Deno.test("KvRateLimiter counts a burst on one key in a few commits, exactly up to the limit", async () => {
  const kv = await Deno.openKv(":memory:");
  const counted = countingCommits(kv);
  try {
    await using limiter = new KvRateLimiter(counted.kv, { now });
    const rule = { limit: 30, windowMs: 3_600_000 };
    const results = await Promise.all(
      Array.from({ length: 50 }, () => limiter.consume("requests", "10.0.0.9", rule)),
    );
    await limiter.flushed();
    assert.equal(results.filter((result) => result.allowed).length, 30);
    assert.deepEqual(
      results.map((result) => result.count),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.ok(counted.commits() <= 3, `${counted.commits()} commits for a burst of 50`);
    const stored = [];
    for await (const entry of kv.list({ prefix: ["rate_limit", "requests", "10.0.0.9"] })) {
      stored.push(entry.value);
    }
    assert.deepEqual(stored, [30], "only the allowed calls are stored");
    const later = await limiter.consume("requests", "10.0.0.9", rule);
    assert.equal(later.allowed, false);
  } finally {
    kv.close();
  }
});
