import assert from "node:assert/strict";
import { freePort, request, startServer, TEST_API_KEY, waitFor } from "./harness.ts";

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

/** A stand-in OTLP/HTTP collector (JSON), to see what Deno's OpenTelemetry exports. */
function startCollector(): { url: string; bodies: string[]; server: Deno.HttpServer } {
  const bodies: string[] = [];
  const port = freePort();
  const server = Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    bodies.push(await request.text());
    return Response.json({});
  });
  return { url: `http://127.0.0.1:${port}`, bodies, server };
}

Deno.test({
  name: "with OTEL_DENO the server exports publish and deliver spans over OTLP, and no secrets",
  ...INTEGRATION,
  async fn() {
    const collector = startCollector();
    try {
      await using server = await startServer({
        env: {
          OTEL_DENO: "true",
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_SERVICE_NAME: "switchboard-test",
          LOG_LEVEL: "debug",
        },
      });
      const minted = await request(`${server.url}/api/tokens`, {
        method: "POST",
        bearer: TEST_API_KEY,
        json: { userId: "otel", perms: ["topics:read"] },
      });
      const token: string = minted.body.token;
      // The long-lived token travels as a WebSocket subprotocol, never in a URL.
      const socket = new WebSocket(`${server.wsUrl}/api/ws/topics/app:otel`, [
        "switchboard",
        `token.${token}`,
      ]);
      const received = new Promise<string>((resolve) => {
        socket.onmessage = (event) => resolve(String(event.data));
      });
      await new Promise((resolve) => socket.onopen = resolve);
      await request(`${server.url}/api/topics/app:otel/publish`, {
        method: "POST",
        bearer: TEST_API_KEY,
        json: { data: { hello: "otel" } },
      });
      assert.match(await received, /hello/);
      socket.close();
      // A failed request with a bad bearer token must not log it either.
      await request(`${server.url}/api/topics/app:otel/history`, { bearer: `${token}x` });
      await waitFor(() => {
        const all = collector.bodies.join("\n");
        return all.includes('"switchboard.publish"') && all.includes('"switchboard.deliver"');
      }, { timeoutMs: 20_000, message: "publish and deliver spans exported" });
      await server.stop();
      const exported = collector.bodies.join("\n");
      assert.match(exported, /"stringValue":\s*"switchboard-test"/);
      for (const secret of [token, TEST_API_KEY]) {
        assert.ok(!server.output().includes(secret), "a secret reached the console log");
        assert.ok(!exported.includes(secret), "a secret reached the exported telemetry");
      }
      const lines = server.output().split("\n").filter((line) => line.startsWith("{"));
      assert.ok(lines.some((line) => JSON.parse(line).event === "http_request"));
      for (const line of lines) {
        const record = JSON.parse(line);
        assert.equal(typeof record.time, "string");
        assert.ok(["debug", "info", "warn", "error"].includes(record.level));
      }
    } finally {
      await collector.server.shutdown();
    }
  },
});

Deno.test({
  name: "with METRICS_TOKEN, /metrics answers only a scraper that sends it",
  ...INTEGRATION,
  async fn() {
    const token = "metrics-token-0123456789";
    await using server = await startServer({ env: { METRICS_TOKEN: token } });
    const missing = await request(`${server.url}/metrics`);
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error.code, "missing_token");
    const wrong = await request(`${server.url}/metrics`, { bearer: `${token}x` });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, "invalid_token");
    const scraped = await request(`${server.url}/metrics`, { bearer: token });
    assert.equal(scraped.status, 200);
    assert.match(scraped.body, /^switchboard_isolates 1$/m);
  },
});
