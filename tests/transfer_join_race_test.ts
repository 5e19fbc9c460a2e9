import assert from "node:assert/strict";
import { startServer } from "./harness.ts";
import { createSession, metricValue } from "./transfer_fixtures.ts";
import { waitFor } from "./harness.ts";

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

/** One join on its own TCP connection, so that joins spread over the isolates. */
async function joinOnNewConnection(
  url: string,
  code: string,
): Promise<{ status: number; code?: string }> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const response = await fetch(`${url}/api/transfer/join`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code }),
      client,
    });
    const body = await response.json();
    return { status: response.status, code: body.error?.code };
  } finally {
    client.close();
  }
}

Deno.test({
  name: "50 concurrent joins of one code over 2 isolates: exactly one 200 and 49 × 409, 20 times",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({
      isolates: 2,
      env: { JOIN_ATTEMPTS_PER_MINUTE: "100000", REQUESTS_PER_MINUTE: "100000" },
    });
    const rounds = 20;
    for (let round = 0; round < rounds; round++) {
      const session = await createSession(server);
      // Lower case for half the callers: codes are case-insensitive.
      const results = await Promise.all(
        Array.from(
          { length: 50 },
          (_, index) =>
            joinOnNewConnection(server.url, index % 2 ? session.code.toLowerCase() : session.code),
        ),
      );
      const statuses = results.map((result) => result.status);
      assert.equal(
        statuses.filter((status) => status === 200).length,
        1,
        `round ${round}: ${statuses}`,
      );
      const conflicts = results.filter((result) => result.status === 409);
      assert.equal(conflicts.length, 49, `round ${round}: ${statuses}`);
      assert.ok(conflicts.every((result) => result.code === "session_already_joined"));
    }
    await waitFor(
      async () =>
        await metricValue(server, "switchboard_transfer_sessions_total", { event: "joined" }) ===
          rounds &&
        await metricValue(server, "switchboard_transfer_join_rejections_total", {
            reason: "session_already_joined",
          }) === rounds * 49,
      { timeoutMs: 15_000, message: "join metrics summed over isolates" },
    );
  },
});
