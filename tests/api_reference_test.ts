/**
 * The reference served by a real server: the OpenAPI document describes every
 * route the app registers under /api (and nothing it does not), /docs renders
 * every operation, and guides are served from a whitelist only.
 */
import assert from "node:assert/strict";
import type { OpenApiDocument } from "../lib/api_docs/mod.ts";
import { request, sharedServer } from "./harness.ts";

/** The server of the tests below that need none of their own (see sharedServer). */
const shared = sharedServer();

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "the OpenAPI document describes every registered /api route, and only those",
  ...OPTIONS,
  async fn() {
    const server = await shared();
    const response = await request(`${server.url}/docs/openapi.json`);
    assert.equal(response.status, 200);
    const document = response.body as OpenApiDocument;
    assert.equal(document.openapi, "3.1.0");
    assert.deepEqual(document.servers, [{ url: server.url }]);
    // The catalog can never silently fall behind the routes, nor describe routes that are gone.
    assert.deepEqual(document["x-switchboard-undocumented"], []);
    assert.deepEqual(document["x-switchboard-unregistered"], []);
    const operations = Object.values(document.paths).flatMap((item) => Object.values(item));
    assert.ok(operations.length >= 30, `${operations.length} operations`);
    const upload = document.paths["/api/upload"]?.post;
    assert.deepEqual(
      upload?.parameters.filter((parameter) => parameter.in === "query").map((item) => item.name),
      ["ttlSeconds", "maxDownloads", "encrypted"],
    );
    const socket = document.paths["/api/ws/notifications"]?.get;
    assert.equal(socket?.["x-switchboard-transport"], "websocket");
    assert.deepEqual(Object.keys(socket?.["x-switchboard-frames"] ?? {}), ["ack", "read"]);
  },
});

Deno.test({
  name: "/docs renders every operation and the guides; unknown guides are 404",
  ...OPTIONS,
  async fn() {
    const server = await shared();
    const document = (await request(`${server.url}/docs/openapi.json`)).body as OpenApiDocument;
    const page = await fetch(`${server.url}/docs`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const html = await page.text();
    assert.doesNotMatch(html, /<script/, "the reference needs no JavaScript");
    for (const [path, item] of Object.entries(document.paths)) {
      for (const operation of Object.values(item)) {
        assert.match(html, new RegExp(`id="${operation!.operationId}"`), `${path} is on the page`);
      }
    }
    assert.match(html, /href="\/docs\/guides\/protocol"/);
    const guide = await fetch(`${server.url}/docs/guides/api`);
    assert.equal(guide.status, 200);
    const guideHtml = await guide.text();
    assert.match(guideHtml, /<h1 id="http-api-tour">/);
    assert.match(guideHtml, /<pre><code class="language-sh">/);
    for (const name of ["README", "..%2FREADME", "nope", "api.md"]) {
      const missing = await fetch(`${server.url}/docs/guides/${name}`, {
        headers: { accept: "text/html" },
      });
      await missing.body?.cancel();
      assert.equal(missing.status, 404, name);
    }
  },
});
