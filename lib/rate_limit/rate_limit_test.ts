import assert from "node:assert/strict";
import { ApiError } from "../errors/mod.ts";
import { enforceRateLimit, KvRateLimiter, MemoryRateLimiter } from "./mod.ts";
import { countingCommits } from "../kv/testing.ts";

Deno.test("KvRateLimiter counts across two KV handles of one database", async () => {
  const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
  const first = await Deno.openKv(path);
  const second = await Deno.openKv(path);
  try {
    const rule = { limit: 5, windowMs: 60_000 };
    const results = await Promise.all(
      Array.from(
        { length: 8 },
        (_, index) =>
          (index % 2 ? new KvRateLimiter(first) : new KvRateLimiter(second)).consume(
            "join",
            "10.0.0.1",
            rule,
          ),
      ),
    );
    assert.equal(results.filter((result) => result.allowed).length, 5);
    const other = await new KvRateLimiter(first).consume("join", "10.0.0.2", rule);
    assert.equal(other.allowed, true);
  } finally {
    first.close();
    second.close();
  }
});

Deno.test("enforceRateLimit() throws 429 rate_limited with Retry-After", async () => {
  const limiter = new MemoryRateLimiter();
  const rule = { limit: 1, windowMs: 10_000 };
  await enforceRateLimit(limiter, "upload", "a", rule);
  await assert.rejects(() => enforceRateLimit(limiter, "upload", "a", rule), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 429);
    assert.equal(error.code, "rate_limited");
    assert.ok(Number(error.headers["Retry-After"]) >= 1);
    return true;
  });
});

Deno.test("KvRateLimiter counts a burst on one key in a few commits, exactly up to the limit", async () => {
  const kv = await Deno.openKv(":memory:");
  const counted = countingCommits(kv);
  try {
    const limiter = new KvRateLimiter(counted.kv);
    const rule = { limit: 30, windowMs: 3_600_000 };
    const results = await Promise.all(
      Array.from({ length: 50 }, () => limiter.consume("requests", "10.0.0.9", rule)),
    );
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
