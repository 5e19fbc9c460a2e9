/**
 * @module
 * The randomized cross-isolate test, registered by two test files (BroadcastChannel
 * on and off) so that the suite can run them side by side: each takes about 20 s
 * against the modelled remote KV.
 */
import assert from "node:assert/strict";
import { request, startServer, waitFor } from "./harness.ts";
import { publishAccepted, readerToken, subscribe } from "./realtime_fixtures.ts";
import { testSeed, withSeed } from "./seeded_random.ts";

/** A new seed each run (more schedules tried over time) unless TEST_SEED replays one. */
const SEED = testSeed();

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

/**
 * Registers "randomized: 4 publishers over 2 isolates, subscribers dropping and
 * resuming at random see exactly the topic log" with `BROADCAST_CHANNEL` set to
 * `broadcastChannel`.
 */
export function randomizedCrossIsolateTest(broadcastChannel: "on" | "off"): void {
  Deno.test({
    name: `randomized: 4 publishers over 2 isolates, subscribers dropping and resuming at random ` +
      `see exactly the topic log (BroadcastChannel ${broadcastChannel})`,
    ...INTEGRATION,
    // Who drops when is random: from SEED, printed when the test fails.
    fn: () =>
      withSeed(SEED, async (random) => {
        await using server = await startServer({
          isolates: 2,
          env: { BROADCAST_CHANNEL: broadcastChannel },
        });
        const token = await readerToken(server);
        const topic = `app:random-${broadcastChannel}`;
        // Against the modelled remote KV (TEST_KV_LATENCY) each contended publish takes a few
        // round trips: fewer events there keep the pass short and still cross many reconnects.
        const total = Deno.env.get("TEST_KV_LATENCY") ? 600 : 2000;
        const subscribers = Array.from(
          { length: 6 },
          (_, index) => subscribe(() => server, topic, token, index < 4 ? "websocket" : "sse"),
        );
        let publishing = true;
        let reconnects = 0;
        const chaos = (async () => {
          while (publishing) {
            reconnects += 1;
            // The chaos schedule is the scenario, not a wait.
            await new Promise((resolve) => setTimeout(resolve, 30 + random() * 120));
            subscribers[Math.floor(random() * subscribers.length)]!.client.reconnectNow();
          }
        })();
        await Promise.all(Array.from({ length: 4 }, async (_, publisher) => {
          let client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
          for (let index = 0; index < total / 4; index++) {
            if (index % 25 === 0) {
              client.close();
              client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
            }
            await publishAccepted(() => server, topic, { publisher, index }, client);
          }
          client.close();
        }));
        publishing = false;
        await chaos;
        assert.ok(reconnects >= 10, `only ${reconnects} forced reconnects`);
        await waitFor(() => subscribers.every((subscriber) => subscriber.offsets.length >= total), {
          timeoutMs: 60_000,
          message: `every subscriber has ${total} events: ${
            subscribers.map((s) => s.offsets.length)
          }`,
        });
        const log: unknown[] = [];
        for (let after = 0; after < total; after += 1000) {
          const page = await request(
            `${server.url}/api/topics/${topic}/history?after=${after}&limit=1000`,
            { bearer: token },
          );
          log.push(...page.body.events.map((event: { data: unknown }) => event.data));
        }
        assert.equal(log.length, total);
        const expectedOffsets = Array.from({ length: total }, (_, index) => index + 1);
        for (const subscriber of subscribers) {
          subscriber.client.close();
          assert.deepEqual(subscriber.offsets, expectedOffsets);
          assert.deepEqual(subscriber.data, log);
        }
      }),
  });
}
