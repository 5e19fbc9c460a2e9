import assert from "node:assert/strict";
import { request, startServer, waitFor } from "./harness.ts";
import { openKv } from "../lib/kv/mod.ts";
import { createSession, joinSession, metricValue } from "./transfer_fixtures.ts";

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };
const CODE = /^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{6}$/;

Deno.test({
  name: "create answers 201 with code, sender token, expiry and join URL; bad bodies are 400",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { PUBLIC_URL: "https://share.example.test/" } });
    const before = Date.now();
    const session = await createSession(server, {
      files: [
        { name: "a.txt", size: 3, type: "text/plain" },
        { name: "photo.jpg", size: 1_500_000, type: "image/jpeg" },
      ],
    });
    assert.match(session.transferId, /^[0-9A-Z]{26}$/);
    assert.match(session.code, CODE);
    assert.match(session.senderToken, /^ts_/);
    assert.equal(session.joinUrl, `https://share.example.test/r/${session.code}`);
    const ttl = Date.parse(session.expiresAt) - before;
    assert.ok(ttl > 1790_000 && ttl <= 1801_000, `default life 30 min, got ${ttl} ms`);
    const many = await createSession(server, {
      files: Array.from(
        { length: 100 },
        (_, index) => ({ name: `scan-${index}.pdf`, size: index }),
      ),
    });
    assert.match(many.code, CODE);
    const short = await createSession(server, { ttlSeconds: 120 });
    assert.ok(Date.parse(short.expiresAt) - Date.now() <= 120_000);
    assert.notEqual(short.code, session.code);

    const bad = async (json: unknown, pattern: RegExp) => {
      const response = await request(`${server.url}/api/transfer/create`, { method: "POST", json });
      assert.equal(response.status, 400, JSON.stringify(json));
      assert.equal(response.body.error.code, "invalid_request");
      assert.match(response.body.error.message, pattern);
    };
    await bad({ files: [{ name: "", size: 1, type: "x" }] }, /files\.0\.name/);
    await bad({ files: [{ name: "a\u0000b", size: 1, type: "x" }] }, /control characters/);
    await bad({ files: [{ name: "x".repeat(256), size: 1, type: "x" }] }, /files\.0\.name/);
    await bad({ files: [{ name: "a", size: -1, type: "x" }] }, /files\.0\.size/);
    await bad({ files: [{ name: "a", size: 1, type: "x", path: "/etc" }] }, /path|Unrecognized/);
    await bad(
      { files: Array.from({ length: 101 }, () => ({ name: "a", size: 1, type: "" })) },
      /files/,
    );
    // One non-Latin-1 character makes KV store a whole string as two bytes per unit: 100 such
    // names and types (42 KB of UTF-8) would overflow a 64 KiB KV value, so the list is capped.
    await bad({
      files: Array.from({ length: 100 }, () => ({
        name: `${"a".repeat(254)}文`,
        size: 1,
        type: `${"x".repeat(126)}文`,
      })),
    }, /too long/);
    await bad({ ttlSeconds: 0 }, /ttlSeconds/);
    await bad({ ttlSeconds: 86401 }, /ttlSeconds/);
    await bad({ owner: "me" }, /owner|Unrecognized/);
    const notJson = await request(`${server.url}/api/transfer/create`, {
      method: "POST",
      body: "{nope",
    });
    assert.equal(notJson.body.error.code, "invalid_json");
  },
});

Deno.test({
  name:
    "join is case-insensitive, shows the files, and works once; close needs a token of the session",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const files = [{ name: "notes.md", size: 42, type: "text/markdown" }];
    const session = await createSession(server, { files });
    const joined = await joinSession(
      server,
      ` ${session.code.toLowerCase().slice(0, 3)}-${session.code.toLowerCase().slice(3)} `,
    );
    assert.equal(joined.transferId, session.transferId);
    assert.deepEqual(joined.files, files);
    assert.match(joined.receiverToken, /^tr_/);
    assert.ok(Date.parse(joined.expiresAt) > Date.now());
    const again = await request(`${server.url}/api/transfer/join`, {
      method: "POST",
      json: { code: session.code },
    });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "session_already_joined");
    const empty = await request(`${server.url}/api/transfer/join`, { method: "POST", json: {} });
    assert.equal(empty.status, 400);

    const close = (json: unknown) =>
      request(`${server.url}/api/transfer/close`, { method: "POST", json });
    const other = await createSession(server);
    const wrong = await close({ transferId: session.transferId, token: other.senderToken });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.error.code, "invalid_transfer_token");
    const unknown = await close({ transferId: "01ARZ3NDEKTSV4RRFFQ69G5FAV", token: "ts_x" });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "session_not_found");
    const closed = await close({ transferId: session.transferId, token: joined.receiverToken });
    assert.equal(closed.status, 200);
    assert.deepEqual(closed.body, {
      transferId: session.transferId,
      code: session.code,
      state: "closed",
    });
    assert.equal(
      (await close({ transferId: session.transferId, token: session.senderToken })).status,
      200,
    );
    const late = await request(`${server.url}/api/transfer/join`, {
      method: "POST",
      json: { code: session.code },
    });
    assert.equal(late.status, 410);
    assert.equal(late.body.error.code, "session_closed");
    const unjoinedClose = await close({ transferId: other.transferId, token: other.senderToken });
    assert.equal(unjoinedClose.status, 200, "an unjoined session can be closed by its sender");
    await waitFor(
      async () =>
        await metricValue(server, "switchboard_transfer_sessions_total", { event: "closed" }) ===
          2 &&
        await metricValue(server, "switchboard_transfer_sessions_total", { event: "created" }) ===
          2 &&
        await metricValue(server, "switchboard_transfer_sessions_total", { event: "joined" }) === 1,
      { message: "session metrics" },
    );
  },
});

Deno.test({
  name:
    "an expired session answers 410 at once and the sweeper stores that, leaving live ones alone",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { TRANSFER_SWEEP_SECONDS: "1" } });
    const session = await createSession(server, { ttlSeconds: 1 });
    const live = await createSession(server);
    // The server's own clock decides the expiry: wait for the time it gave, not a guess.
    await waitFor(() => Date.now() > Date.parse(session.expiresAt), { message: "expiry passed" });
    // Re-checked on read, whether or not a sweep ran yet.
    const response = await request(`${server.url}/api/transfer/join`, {
      method: "POST",
      json: { code: session.code },
    });
    assert.equal(response.status, 410);
    assert.equal(response.body.error.code, "session_expired");
    const close = await request(`${server.url}/api/transfer/close`, {
      method: "POST",
      json: { transferId: session.transferId, token: session.senderToken },
    });
    assert.equal(close.status, 410);

    const kv = await openKv(server.kvPath);
    try {
      const state = async (id: string) =>
        (await kv.get<{ state: string }>(["transfer", id])).value?.state;
      await waitFor(async () => await state(session.transferId) === "expired", {
        message: "the sweeper stores the expiry",
      });
      assert.equal(await state(live.transferId), "created");
      await waitFor(
        async () =>
          await metricValue(server, "switchboard_transfer_sessions_total", { event: "expired" }) ===
            1,
        { message: "expired counted once" },
      );
    } finally {
      kv.close();
    }
    assert.equal((await joinSession(server, live.code)).transferId, live.transferId);
  },
});

Deno.test({
  name: "join attempts are rate limited per address: 429 with Retry-After, counted as rejections",
  ...INTEGRATION,
  async fn() {
    // Behind a trusted proxy, so that each round below is its own client address.
    await using server = await startServer({
      env: { JOIN_ATTEMPTS_PER_MINUTE: "5", TRUST_PROXY: "on" },
    });
    // The limit counts per fixed minute of the server's clock (this machine's, so the test
    // can tell): a round that straddles a minute's end is run again from another address,
    // never waited out. The window logic itself is tested on an injected clock in
    // lib/rate_limit/rate_limit_test.ts.
    let session!: Awaited<ReturnType<typeof createSession>>;
    let statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof request>> | null = null;
    const rejected = { rate_limited: 0, session_not_found: 0 };
    for (let round = 1;; round++) {
      assert.ok(round <= 3, "a round of 7 requests fits in a minute");
      session = await createSession(server);
      const minute = Math.floor(Date.now() / 60_000);
      statuses = [];
      for (let attempt = 0; attempt < 7; attempt++) {
        const response = await request(`${server.url}/api/transfer/join`, {
          method: "POST",
          headers: { "X-Forwarded-For": `203.0.113.${round}` },
          json: { code: attempt === 6 ? session.code : "ZZZZZZ" },
        });
        statuses.push(response.status);
        if (response.status === 429) limited = response;
      }
      rejected.rate_limited += statuses.filter((status) => status === 429).length;
      rejected.session_not_found += statuses.filter((status) => status === 404).length;
      if (Math.floor(Date.now() / 60_000) === minute) break;
    }
    assert.deepEqual(statuses, [404, 404, 404, 404, 404, 429, 429]);
    assert.equal(limited!.body.error.code, "rate_limited");
    const retryAfter = Number(limited!.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    // A guess past the limit learns nothing, even when it is right.
    const kv = await openKv(server.kvPath);
    try {
      const stored = await kv.get<{ state: string }>(["transfer", session.transferId]);
      assert.equal(stored.value?.state, "created");
    } finally {
      kv.close();
    }
    await waitFor(
      async () =>
        await metricValue(server, "switchboard_transfer_join_rejections_total", {
            reason: "rate_limited",
          }) === rejected.rate_limited &&
        await metricValue(server, "switchboard_transfer_join_rejections_total", {
            reason: "session_not_found",
          }) === rejected.session_not_found,
      { message: "rejections by reason" },
    );
  },
});
