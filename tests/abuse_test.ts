/**
 * Abuse-proof by default, against a real server: input built to hurt (JSON
 * nested thousands of levels deep) gets a clear 400, never a 500; the API key
 * cannot be turned into user tokens that administer; capabilities (upload ids)
 * stay out of the logs.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../lib/config/mod.ts";
import { issueToken } from "../lib/identity/mod.ts";
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

/** The first SSE event name of `url`, then the stream is closed. */
async function firstEvent(url: string): Promise<{ status: number; event: string | null }> {
  const response = await fetch(url);
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    return { status: response.status, event: null };
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!/^event: (.+)$/m.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    await reader.cancel();
  }
  return { status: response.status, event: /^event: (.+)$/m.exec(text)?.[1] ?? null };
}

Deno.test({
  name:
    "user tokens cannot carry admin; the admin endpoints take the API key and its stream tokens",
  ...INTEGRATION,
  async fn() {
    const secret = `test-secret-${"x".repeat(32)}`;
    await using server = await startServer({ env: { SWITCHBOARD_SECRET: secret } });
    for (const perms of [["admin"], ["chat:read", "admin"]]) {
      const minted = await request(`${server.url}/api/tokens`, {
        method: "POST",
        bearer: TEST_API_KEY,
        json: { userId: "mallory", perms },
      });
      assert.equal(minted.status, 400, JSON.stringify(minted.body));
      assert.equal(minted.body.error.code, "permission_not_grantable");
      assert.match(minted.body.error.message, /"admin"/);
    }
    const user = await request(`${server.url}/api/tokens`, {
      method: "POST",
      bearer: TEST_API_KEY,
      json: { userId: "ada", perms: ["chat:read", "topics:read"] },
    });
    assert.equal(user.status, 201);

    // The API key still administers: the snapshot, and the stream through its own stream token.
    const snapshot = await request(`${server.url}/api/admin/snapshot`, { bearer: TEST_API_KEY });
    assert.equal(snapshot.status, 200);
    const adminToken = await request(`${server.url}/api/admin/stream-token`, {
      method: "POST",
      bearer: TEST_API_KEY,
    });
    assert.deepEqual(
      await firstEvent(`${server.url}/api/admin/stream?token=${adminToken.body.token}`),
      { status: 200, event: "snapshot" },
    );

    // A user token reaches no admin endpoint, not even one minted with admin before the refusal.
    const legacy = (await issueToken(secret, { userId: "mallory", perms: ["admin", "chat:read"] }))
      .token;
    for (const token of [user.body.token, legacy]) {
      const denied = await request(`${server.url}/api/admin/snapshot`, { bearer: token });
      assert.equal(denied.status, 401);
      const streamToken = await request(`${server.url}/api/notifications/stream-token`, {
        method: "POST",
        bearer: token,
      });
      assert.equal(streamToken.status, 201);
      for (const candidate of [streamToken.body.token, token]) {
        const refused = await request(`${server.url}/api/admin/stream?token=${candidate}`);
        assert.equal(refused.status, 403, JSON.stringify(refused.body));
        assert.equal(refused.body.error.code, "forbidden");
      }
    }
  },
});

Deno.test({
  name: "an upload's id and delete token never reach the server's output, even at debug level",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { LOG_LEVEL: "debug" } });
    const uploaded = await request(`${server.url}/api/upload`, {
      method: "POST",
      headers: { "Content-Type": "text/plain", "X-Filename": "notes.txt" },
      body: "capabilities stay out of logs",
    });
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
    const { id, deleteToken } = uploaded.body as { id: string; deleteToken: string };
    for (const path of [`/api/files/${id}`, `/d/${id}`, `/api/download/${id}`]) {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.status, 200, path);
      await response.body?.cancel();
    }
    const deleted = await request(`${server.url}/api/download/${id}`, {
      method: "DELETE",
      headers: { "X-Delete-Token": deleteToken },
    });
    assert.equal(deleted.status, 200);
    const gone = await request(`${server.url}/api/download/${id}?deleteToken=${deleteToken}`, {
      method: "DELETE",
    });
    assert.equal(gone.status, 410);
    await server.stop();
    const output = server.output();
    assert.ok(!output.includes(id), "the upload id reached the server's output");
    assert.ok(!output.includes(deleteToken), "the delete token reached the server's output");
    // Logged, but only by route pattern and id prefix.
    assert.match(output, /"event":"link_uploaded".*"idPrefix":"[\w-]{4}"/);
    assert.match(output, /"event":"link_deleted"/);
    assert.match(output, /"event":"http_request".*"route":"\/api\/download\/:id"/);
  },
});
