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
          OTEL_BSP_SCHEDULE_DELAY: "100",
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
      // From offset 0: a publish that commits before the server has read the topic's head for
      // this subscription (a busy machine) is still delivered.
      const socket = new WebSocket(`${server.wsUrl}/api/ws/topics/app:otel?since=0`, [
        "switchboard",
        `token.${token}`,
      ]);
      const messages: string[] = [];
      socket.onmessage = (event) => messages.push(String(event.data));
      await new Promise((resolve) => socket.onopen = resolve);
      // The first event proves the subscription is live; the second is delivered live to it
      // (what records a deliver span).
      for (const hello of ["warm-up", "otel"]) {
        await request(`${server.url}/api/topics/app:otel/publish`, {
          method: "POST",
          bearer: TEST_API_KEY,
          json: { data: { hello } },
        });
        await waitFor(() => messages.some((message) => message.includes(hello)), {
          message: `the "${hello}" event delivered`,
        });
      }
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

/** One exported span, from OTLP/JSON. */
interface ExportedSpan {
  name: string;
  traceId: string;
  attributes: Record<string, unknown>;
}

function exportedSpans(bodies: string[]): ExportedSpan[] {
  const spans: ExportedSpan[] = [];
  for (const body of bodies) {
    // deno-lint-ignore no-explicit-any -- OTLP/JSON as the collector received it
    const parsed = JSON.parse(body) as { resourceSpans?: any[] };
    for (const resource of parsed.resourceSpans ?? []) {
      for (const scope of resource.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          const attributes: Record<string, unknown> = {};
          for (const { key, value } of span.attributes ?? []) {
            attributes[key] = Object.values(value ?? {})[0];
          }
          spans.push({ name: span.name, traceId: span.traceId, attributes });
        }
      }
    }
  }
  return spans;
}

/** Reads an event stream until its first event, then closes it. */
async function firstEvent(url: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(url, { headers });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/\n\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel();
  return response.status;
}

Deno.test({
  name: "with OTEL_DENO no exported span carries a token or capability from a request URL",
  ...INTEGRATION,
  async fn() {
    const collector = startCollector();
    try {
      await using server = await startServer({
        env: {
          OTEL_DENO: "true",
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_BSP_SCHEDULE_DELAY: "100",
        },
      });
      const minted = await request(`${server.url}/api/tokens`, {
        method: "POST",
        bearer: TEST_API_KEY,
        json: { userId: "otel", perms: ["topics:read"] },
      });
      const jwt: string = minted.body.token;
      // A user JWT on a stream URL, the way EventSource sends it; the caller's trace continues.
      const caller = "0af7651916cd43dd8448eb211c80319c";
      assert.equal(
        await firstEvent(`${server.url}/api/notifications/stream?token=${jwt}&since=0`, {
          traceparent: `00-${caller}-b7ad6b7169203331-01`,
        }),
        200,
      );
      // A delete token in the query, and secrets under encoded and look-alike names.
      const uploaded = await request(`${server.url}/api/upload`, {
        method: "POST",
        headers: { "Content-Type": "text/plain" },
        body: "traced",
      });
      const { id, deleteToken } = uploaded.body as { id: string; deleteToken: string };
      const deleted = await request(
        `${server.url}/api/download/${id}?deleteToken=${deleteToken}`,
        { method: "DELETE" },
      );
      assert.equal(deleted.status, 200);
      const literal = ["SECRET-token-1", "SECRET-delete-2", "SECRET-encoded-3", "SECRET-key-4"];
      const probe = await request(
        `${server.url}/api/topics/app:otel/history?token=${literal[0]}&deleteToken=${literal[1]}` +
          `&%74oken=${literal[2]}&api_key=${literal[3]}&limit=1`,
      );
      assert.equal(probe.status, 401);
      // Each request's span, by route (ours) or by path (Deno's own, which must not come).
      await waitFor(() => {
        const places = exportedSpans(collector.bodies).map((span) =>
          String(span.attributes["http.route"] ?? span.attributes["url.path"] ?? "")
        );
        return ["/api/notifications/stream", "/api/download/", "/history"].every((part) =>
          places.some((place) => place.includes(part))
        );
      }, { timeoutMs: 20_000, message: "the three requests' spans exported" });
      await server.stop();

      const exported = collector.bodies.join("\n");
      for (const secret of [jwt, deleteToken, id, ...literal]) {
        assert.ok(!exported.includes(secret), `exported telemetry holds ${secret.slice(0, 16)}…`);
      }
      const spans = exportedSpans(collector.bodies);
      const stream = spans.find((span) => span.name === "GET /api/notifications/stream");
      assert.equal(stream?.traceId, caller, "the caller's trace continues");
      assert.equal(stream?.attributes["url.query"], "token=REDACTED&since=0");
      assert.equal(stream?.attributes["http.response.status_code"], 200);
      const removal = spans.find((span) => span.name === "DELETE /api/download/:id");
      assert.equal(removal?.attributes["http.route"], "/api/download/:id");
      assert.equal(removal?.attributes["url.query"], "deleteToken=REDACTED");
      // Deno's own request span (the raw URL) is not exported at all.
      assert.ok(spans.every((span) => span.attributes["url.full"] === undefined));
    } finally {
      await collector.server.shutdown();
    }
  },
});

Deno.test({
  name: "with OTEL_DENO the server refuses to start with settings that would export raw URLs",
  ...INTEGRATION,
  async fn() {
    const unsafe: Record<string, string>[] = [
      { OTEL_TRACES_SAMPLER: "parentbased_always_on" },
      { OTEL_PROPAGATORS: "tracecontext" },
    ];
    for (const env of unsafe) {
      const error = await startServer({
        env: { OTEL_DENO: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9", ...env },
      }).then(
        async (server) => {
          await server.stop();
          return null;
        },
        (error: Error) => error,
      );
      assert.ok(error, `started with ${JSON.stringify(env)}`);
      assert.match(error.message, new RegExp(Object.keys(env)[0]!));
      assert.match(
        error.message,
        /OTEL_TRACES_SAMPLER=parentbased_always_off OTEL_PROPAGATORS=none/,
      );
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
