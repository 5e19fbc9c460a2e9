/**
 * Abuse-proof by default, against a real server: input built to hurt (JSON
 * nested thousands of levels deep) gets a clear 400, never a 500.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../lib/config/mod.ts";
import { apiCatalog } from "../routes/api_catalog.ts";
import { request, startServer, TEST_API_KEY } from "./harness.ts";

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "JSON nested 5,000 levels deep is a 400 invalid_json on every endpoint that reads JSON",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const minted = await request(`${server.url}/api/tokens`, {
      method: "POST",
      bearer: TEST_API_KEY,
      json: { userId: "deep", perms: ["chat:read", "topics:read"] },
    });
    const credentials: Record<string, string> = {
      api_key: TEST_API_KEY,
      user_token: minted.body.token,
    };
    const deep = `{"data":${"[".repeat(5000)}${"]".repeat(5000)}}`;
    const endpoints = apiCatalog(loadConfig({})).filter((endpoint) => endpoint.body);
    assert.ok(endpoints.some((endpoint) => endpoint.path === "/api/topics/{topic}/publish"));
    for (const endpoint of endpoints) {
      const path = endpoint.path.replace("{topic}", "app:x");
      const response = await request(`${server.url}${path}`, {
        method: endpoint.method,
        headers: { "Content-Type": "application/json" },
        body: deep,
        bearer: credentials[endpoint.auth],
      });
      const where = `${endpoint.method} ${endpoint.path}`;
      assert.equal(response.status, 400, `${where}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.error.code, "invalid_json", where);
      assert.match(response.body.error.message, /deeper than 128 levels/, where);
    }
    // Nesting within the limit is still an ordinary publish.
    const fine = await request(`${server.url}/api/topics/app:x/publish`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: `{"data":${"[".repeat(100)}${"]".repeat(100)}}`,
      bearer: TEST_API_KEY,
    });
    assert.equal(fine.status, 202, JSON.stringify(fine.body));
    assert.doesNotMatch(server.output(), /http_error|RangeError/);
  },
});
