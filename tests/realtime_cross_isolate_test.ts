import assert from "node:assert/strict";
import { startServer, waitFor } from "./harness.ts";
import { publishAccepted, readerToken, subscribe } from "./realtime_fixtures.ts";
import { randomizedCrossIsolateTest } from "./realtime_randomized.ts";

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

// The same test with BroadcastChannel off is tests/realtime_cross_isolate_kv_test.ts.
randomizedCrossIsolateTest("on");

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
