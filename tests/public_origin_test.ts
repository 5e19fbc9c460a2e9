/**
 * Links (join URLs, download URLs, the landing page's examples, the OpenAPI
 * server) never follow a foreign `Host` header: without `PUBLIC_URL` only a
 * loopback host or one listed in `PUBLIC_HOSTS` may lend its origin to a link.
 */
import assert from "node:assert/strict";
import { request, startServer, type TestServer } from "./harness.ts";
import { storedCounts } from "./link_fixtures.ts";

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

/**
 * One HTTP/1.1 request over a raw socket: `fetch` always sends the URL's own
 * `Host`, and this test is about requests that do not.
 */
async function withHost(
  server: TestServer,
  host: string,
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
  // deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
): Promise<{ status: number; text: string; body: any }> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const body = new TextEncoder().encode(init.body ?? "");
  const headers = {
    Host: host,
    Connection: "close",
    "Content-Length": String(body.byteLength),
    ...init.headers,
  };
  const head = `${init.method ?? "GET"} ${path} HTTP/1.1\r\n` +
    Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("") + "\r\n";
  await connection.write(new Uint8Array([...new TextEncoder().encode(head), ...body]));
  const raw = await new Response(connection.readable).text();
  const split = raw.indexOf("\r\n\r\n");
  const [statusLine = "", ...headerLines] = raw.slice(0, split).split("\r\n");
  let text = raw.slice(split + 4);
  if (headerLines.some((line) => /^transfer-encoding:\s*chunked/i.test(line))) {
    let decoded = "";
    for (let at = 0;;) {
      const end = text.indexOf("\r\n", at);
      const size = parseInt(text.slice(at, end), 16);
      if (!size) break;
      decoded += text.slice(end + 2, end + 2 + size);
      at = end + 2 + size + 2;
    }
    text = decoded;
  }
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch { /* HTML */ }
  return { status: Number(statusLine.split(" ")[1]), text, body: parsed };
}

Deno.test({
  name: "without PUBLIC_URL a foreign Host gets 400 invalid_host and no link; loopback and " +
    "PUBLIC_HOSTS still build links",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { PUBLIC_HOSTS: "files.example.test" } });
    const json = { "Content-Type": "application/json" };
    const upload = { "Content-Type": "text/plain", "X-Filename": "a.txt" };

    const create = await withHost(server, "evil.example", "/api/transfer/create", {
      method: "POST",
      body: "{}",
      headers: json,
    });
    assert.equal(create.status, 400, create.text);
    assert.equal(create.body.error.code, "invalid_host");
    const uploaded = await withHost(server, "evil.example:8000", "/api/upload", {
      method: "POST",
      body: "hello",
      headers: upload,
    });
    assert.equal(uploaded.status, 400, uploaded.text);
    assert.equal(uploaded.body.error.code, "invalid_host");
    assert.equal((await storedCounts(server.kvPath)).file, 0, "refused before storing");
    // Pages and the API description fall back to safe origins instead of the Host.
    for (const path of ["/", "/docs/openapi.json"]) {
      const page = await withHost(server, "evil.example", path);
      assert.equal(page.status, 200, path);
      assert.ok(!page.text.includes("evil.example"), `${path} mentions the foreign host`);
    }

    // A file uploaded through a trusted origin is not described with a foreign one either.
    const stored = await request(`${server.url}/api/upload`, {
      method: "POST",
      body: "hello",
      headers: upload,
    });
    assert.equal(stored.status, 201);
    assert.equal(stored.body.url, `${server.url}/d/${stored.body.id}`);
    const described = await withHost(server, "evil.example", `/api/files/${stored.body.id}`);
    assert.equal(described.status, 400);
    assert.equal(described.body.error.code, "invalid_host");

    // Loopback names (deno task start on localhost) and the allowlist keep working.
    for (
      const host of [`localhost:${server.port}`, "files.example.test", "FILES.example.test:8443"]
    ) {
      const created = await withHost(server, host, "/api/transfer/create", {
        method: "POST",
        body: "{}",
        headers: json,
      });
      assert.equal(created.status, 201, `${host}: ${created.text}`);
      assert.equal(created.body.joinUrl, `http://${host.toLowerCase()}/r/${created.body.code}`);
    }
  },
});
