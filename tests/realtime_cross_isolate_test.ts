import assert from "node:assert/strict";
import { RealtimeClient, type ServerFrame } from "../lib/client/mod.ts";
import { request, startServer, TEST_API_KEY, type TestServer, waitFor } from "./harness.ts";
import { testSeed, withSeed } from "./seeded_random.ts";

/** A new seed each run (more schedules tried over time) unless TEST_SEED replays one. */
const SEED = testSeed();

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

async function readerToken(server: TestServer): Promise<string> {
  const response = await request(`${server.url}/api/tokens`, {
    method: "POST",
    bearer: TEST_API_KEY,
    json: { userId: "reader", perms: ["topics:read"] },
  });
  return response.body.token;
}

/** Publishes until the server accepts (a restart may refuse some attempts); returns the offset. */
async function publishAccepted(
  server: () => TestServer,
  topic: string,
  data: unknown,
  client: Deno.HttpClient,
  id?: string,
): Promise<number> {
  for (let attempt = 0;; attempt++) {
    try {
      const response = await fetch(`${server().url}/api/topics/${topic}/publish`, {
        method: "POST",
        client,
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(id ? { data, id } : { data }),
      });
      const body = await response.json();
      if (response.status === 202) return body.offset;
    } catch { /* the server is restarting */ }
    if (attempt > 400) throw new Error("publish never accepted");
    // The retry interval while the server restarts (nothing to wait on: it is not there).
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface Subscriber {
  client: RealtimeClient;
  offsets: number[];
  data: unknown[];
}

function subscribe(
  server: () => TestServer,
  topic: string,
  token: string,
  transport: "websocket" | "sse",
): Subscriber {
  const subscriber: Subscriber = { offsets: [], data: [], client: null! };
  subscriber.client = new RealtimeClient<ServerFrame>({
    transport,
    initialCursor: "0",
    minDelayMs: 20,
    maxDelayMs: 200,
    url: (cursor) => {
      const base = transport === "sse"
        ? `${server().url}/api/topics/${topic}/events`
        : `${server().wsUrl}/api/ws/topics/${topic}`;
      return `${base}?token=${token}${cursor ? `&since=${cursor}` : ""}`;
    },
    onFrame: (frame) => {
      if (frame.type !== "event") return;
      subscriber.offsets.push(frame.offset as number);
      subscriber.data.push(frame.data);
    },
  });
  subscriber.client.start();
  return subscriber;
}

for (const broadcastChannel of ["on", "off"]) {
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

Deno.test({
  name:
    "a server killed mid-stream: clients resume from their offsets after the restart and miss nothing",
  ...INTEGRATION,
  async fn() {
    let server = await startServer();
    try {
      const token = await readerToken(server);
      const topic = "app:restart";
      const subscribers = [
        subscribe(() => server, topic, token, "websocket"),
        subscribe(() => server, topic, token, "sse"),
      ];
      const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
      const accepted: number[] = [];
      for (let index = 0; index < 100; index++) {
        accepted.push(await publishAccepted(() => server, topic, { index }, client));
      }
      await waitFor(() => subscribers.every((subscriber) => subscriber.offsets.length === 100));
      const publishing = (async () => {
        for (let index = 100; index < 300; index++) {
          // The id makes a retry after a lost response safe (idempotent publish).
          accepted.push(
            await publishAccepted(() => server, topic, { index }, client, `p-${index}`),
          );
        }
      })();
      // Killed mid-stream: once the second phase is under way.
      await waitFor(() => accepted.length >= 110, { message: "publishing again" });
      server = await server.restart({ kill: true });
      await publishing;
      client.close();
      await waitFor(() => subscribers.every((subscriber) => subscriber.offsets.length >= 300), {
        timeoutMs: 30_000,
        message: `all 300 after restart: ${subscribers.map((s) => s.offsets.length)}`,
      });
      assert.deepEqual(accepted, Array.from({ length: 300 }, (_, index) => index + 1));
      for (const subscriber of subscribers) {
        subscriber.client.close();
        assert.deepEqual(subscriber.offsets, accepted);
        assert.deepEqual(
          subscriber.data,
          Array.from({ length: 300 }, (_, index) => ({ index })),
        );
      }
    } finally {
      await server.stop();
    }
  },
});
