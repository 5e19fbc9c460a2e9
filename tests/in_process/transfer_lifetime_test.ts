/**
 * How long live-transfer sessions live (docs/transfer.md § Lifetime), on the
 * transfer job's own clock: a `FakeClock` that the test moves on, so hours of
 * idle time and sweeps pass in no time and never by a guessed wait. WebSockets
 * need a real socket: the in-process server is served on port 0.
 */
import assert from "node:assert/strict";
import { FakeClock, waitFor } from "../../lib/clock/testing.ts";
import { KvTransferStore } from "../../lib/transfer/mod.ts";
import { request } from "../harness.ts";
import {
  createSession,
  joinSession,
  metricValue,
  openCreator,
  openJoiner,
} from "../transfer_fixtures.ts";
import type { Frame, TestSocket } from "../ws_client.ts";
import { startInProcess } from "./_app.ts";

const IDLE_MS = 2_000;
const MAX_AGE_MS = 8_000;
const SWEEP_MS = 1_000;
/** Shorter than the keeper's (IDLE_MS / 4) and the sweeper's interval, less their 20 % jitter. */
const STEP_MS = 100;

const isType = (type: string) => (frame: Frame) => frame.type === type;

/**
 * Moves the transfer job's time on. Its keeper and sweeper each keep one timer
 * while they wait for their next run (and none while a run is going on), so
 * "every loop waits again" is the event that a step's runs are over.
 */
function serverTime(clock: FakeClock) {
  const loops = clock.pending;
  assert.ok(loops >= 2, `the keeper's and the sweeper's timers are set (${loops})`);
  const settled = () =>
    waitFor(() => clock.pending === loops, { message: "the keeper's and sweeper's runs ended" });
  return {
    /** Moves time on by `ms`, a step at a time, each step's runs ended before the next. */
    async advance(ms: number): Promise<void> {
      const target = clock.now() + ms;
      while (clock.now() < target) {
        clock.tick(Math.min(STEP_MS, target - clock.now()));
        await settled();
      }
    },
    /**
     * Moves time on to a millisecond at which no loop ran, and returns it: a session
     * touched at that time was touched by what the test did then. A loop sets its
     * next timer only after its run (never at once), so a timer that fired in
     * `tick(1)` shows as one timer fewer right after it.
     */
    async quietMoment(): Promise<number> {
      while (true) {
        clock.tick(1);
        if (clock.pending === loops) return clock.now();
        await settled();
      }
    },
  };
}

Deno.test({
  name:
    "a joined session lives while a peer is connected and expires an idle time after both left; an unjoined one with its creator waiting lives up to the maximum age",
  sanitizeOps: true,
  sanitizeResources: true,
}, async () => {
  const clock = new FakeClock();
  // A KV file, so the test can read when the server touched a session.
  const kvPath = await Deno.makeTempFile({ suffix: ".sqlite3" });
  const latency = Deno.env.get("TEST_KV_LATENCY"); // the suite's modelled remote KV, if set
  const server = await startInProcess({
    KV_PATH: kvPath,
    TRANSFER_IDLE_SECONDS: String(IDLE_MS / 1000),
    TRANSFER_MAX_SECONDS: String(MAX_AGE_MS / 1000),
    TRANSFER_SWEEP_SECONDS: String(SWEEP_MS / 1000),
    JOIN_ATTEMPTS_PER_MINUTE: "1000",
    ...(latency ? { SIMULATE_KV_LATENCY: latency } : {}),
  }, { clock });
  const http = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, server.fetch);
  const kv = await Deno.openKv(kvPath);
  try {
    const base = `127.0.0.1:${http.addr.port}`;
    const at = { url: `http://${base}`, wsUrl: `ws://${base}` };
    const time = serverTime(clock);
    const sessions = new KvTransferStore(kv, { now: () => clock.now() });
    const touchedAt = (id: string, moment: number) =>
      waitFor(async () => (await sessions.get(id))?.lastActiveAt === moment, {
        message: `session touched at ${moment}`,
      });
    const expired = () =>
      metricValue(at, "switchboard_transfer_sessions_total", { event: "expired" });
    const join = (code: string) =>
      request(`${at.url}/api/transfer/join`, { method: "POST", json: { code } });
    /** Waits until the server runs the connection (so its keeper counts it). */
    const running = async (socket: TestSocket) => {
      socket.send({ type: "ping" });
      await socket.next(isType("pong"));
    };

    const session = await createSession(at, { ttlSeconds: 2 });
    const id = session.transferId;
    const joined = await joinSession(at, session.code);
    {
      await using creator = await openCreator(at, session);
      await running(creator);
      // Connected for twice the idle time, past the unjoined ttl: the keeper's touches keep it.
      await time.advance(2 * IDLE_MS);
      assert.equal((await sessions.get(id))?.state, "joined");
      creator.send({ type: "ready" });
      const joinerCameAt = await time.quietMoment();
      await using joiner = await openJoiner(at, session.code, joined);
      await touchedAt(id, joinerCameAt);
      await joiner.next(isType("ready"));
      assert.ok(!creator.frames.some(isType("cancel")), "the creator was never told it ended");

      // The two leave one after the other, each at a moment of its own, so that each
      // leave's touch is seen to be done before time moves on.
      const joinerLeftAt = await time.quietMoment();
      await joiner.close();
      await touchedAt(id, joinerLeftAt);
      const creatorLeftAt = await time.quietMoment();
      await creator.close();
      await touchedAt(id, creatorLeftAt);
      assert.equal((await sessions.get(id))?.expiresAt, creatorLeftAt + IDLE_MS);
    }
    // Asked by joining (a socket would keep it alive): joined until an idle time has passed...
    await time.advance(IDLE_MS - 1);
    const early = await join(session.code);
    assert.equal(early.status, 409, JSON.stringify(early.body));
    assert.equal(early.body.error.code, "session_already_joined");
    // ...and expired from then on.
    await time.advance(1);
    const late = await join(session.code);
    assert.equal(late.status, 410, JSON.stringify(late.body));
    assert.equal(late.body.error.code, "session_expired");
    // The sweeper (every SWEEP_MS ± 20 %) counts it.
    await time.advance(1.2 * SWEEP_MS);
    assert.equal(await expired(), 1);

    // A creator waiting for its joiner keeps the session past its ttl and the idle time, up
    // to its maximum age; a peer still connected then is told and disconnected.
    const lonely = await createSession(at, { ttlSeconds: 1 });
    const createdAt = (await sessions.get(lonely.transferId))!.createdAt;
    await using creator = await openCreator(at, lonely);
    await running(creator);
    await time.advance(createdAt + MAX_AGE_MS - 1 - clock.now());
    const waiting = await sessions.get(lonely.transferId);
    assert.equal(waiting?.state, "created");
    assert.equal(waiting?.expiresAt, createdAt + MAX_AGE_MS);
    assert.equal(await expired(), 1, "no sweep expired it before its maximum age");
    assert.ok(!creator.frames.some(isType("cancel")));
    await time.advance(1);
    assert.equal((await sessions.get(lonely.transferId))?.state, "expired");
    await time.advance(1.2 * SWEEP_MS);
    const cancel = await creator.next(isType("cancel"));
    assert.equal(cancel.reason, "expired");
    assert.equal(cancel.by, "server");
    assert.equal((await creator.closed).code, 4410);
    assert.equal(await expired(), 2);
  } finally {
    kv.close();
    await server.stop();
    await http.shutdown();
    await Deno.remove(kvPath).catch(() => {});
  }
});
