/**
 * Security checks over the whole API: every authenticated endpoint of the API
 * catalog refuses a missing and a forged credential; one user's token cannot
 * reach another user's resources; pages carry the CSP and the other headers.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../lib/config/mod.ts";
import { apiCatalog } from "../routes/api_catalog.ts";
import { request, startServer, TEST_API_KEY, type TestServer } from "./harness.ts";

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

const SAMPLE_PARAMS: Record<string, string> = {
  topic: "app:security",
  channelId: "lobby",
  id: "01JD0000000000000000000000",
};
const UPGRADE = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
};
const FORGED_JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtYWxsb3J5IiwibmFtZSI6Im0iLCJwZXJtcyI6WyJhZG1pbiJdLCJraW5kIjoidXNlciIsImlhdCI6MSwiZXhwIjo5OTk5OTk5OTk5fQ.c2lnbmVkLWJ5LXNvbWVvbmUtZWxzZQ";

function concretePath(path: string): string {
  return path.replace(
    /\{(\w+)\}/g,
    (_, name: string) => encodeURIComponent(SAMPLE_PARAMS[name] ?? "x"),
  );
}

async function call(
  server: TestServer,
  endpoint: { method: string; path: string; transport?: string },
  credential: string | null,
): Promise<{ status: number; code: string | undefined }> {
  const websocket = endpoint.transport === "websocket";
  const headers: Record<string, string> = websocket ? { ...UPGRADE } : {};
  if (credential) headers.authorization = `Bearer ${credential}`;
  const hasBody = !["GET", "HEAD", "DELETE"].includes(endpoint.method);
  if (hasBody) headers["content-type"] = "application/json";
  // `?strict=1`: a WebSocket refusal as its HTTP status (browsers get it after the upgrade, as an
  // error frame and 4401: tests/ws_refusals_test.ts).
  const query = websocket ? "?strict=1" : "";
  const response = await fetch(`${server.url}${concretePath(endpoint.path)}${query}`, {
    method: endpoint.method,
    headers,
    body: hasBody ? "{}" : undefined,
  });
  const text = await response.text();
  let code: string | undefined;
  try {
    code = JSON.parse(text).error?.code;
  } catch { /* not JSON */ }
  return { status: response.status, code };
}

Deno.test({
  name: "security: every authenticated endpoint refuses a missing and a forged credential",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const guarded = apiCatalog(loadConfig({})).filter((endpoint) =>
      ["api_key", "user_token", "stream_token"].includes(endpoint.auth)
    );
    assert.ok(guarded.length >= 20, `only ${guarded.length} guarded endpoints in the catalog`);
    const userToken = (await request(`${server.url}/api/tokens`, {
      method: "POST",
      bearer: TEST_API_KEY,
      json: { userId: "plain-user" },
    })).body.token;
    for (const endpoint of guarded) {
      const label = `${endpoint.method} ${endpoint.path}`;
      const missing = await call(server, endpoint, null);
      assert.equal(missing.status, 401, `${label} without a credential answered ${missing.status}`);
      const forged = await call(
        server,
        endpoint,
        endpoint.auth === "api_key" ? "sb_forged_key_0000000000" : FORGED_JWT,
      );
      assert.equal(
        forged.status,
        401,
        `${label} with a forged credential answered ${forged.status}`,
      );
      if (endpoint.auth === "api_key") {
        const asUser = await call(server, endpoint, userToken);
        assert.equal(asUser.status, 401, `${label} took a user token for the API key`);
      }
    }
  },
});

Deno.test({
  name: "security: one user's token cannot reach another user's resources",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const mint = async (userId: string) =>
      (await request(`${server.url}/api/tokens`, {
        method: "POST",
        bearer: TEST_API_KEY,
        json: { userId },
      })).body.token as string;
    const alice = await mint("alice");
    const bob = await mint("bob");
    const published = await request(`${server.url}/api/notifications/publish`, {
      method: "POST",
      bearer: TEST_API_KEY,
      json: { userId: "bob", type: "success", data: { message: "for bob only" } },
    });
    const bobsNotification = published.body.ids[0];
    // Alice cannot read, mark or see Bob's notification.
    const read = await request(`${server.url}/api/notifications/${bobsNotification}/read`, {
      method: "POST",
      bearer: alice,
    });
    assert.equal(read.status, 404);
    const aliceHistory = await request(`${server.url}/api/notifications`, { bearer: alice });
    assert.equal(aliceHistory.body.notifications.length, 0);
    const bobHistory = await request(`${server.url}/api/notifications`, { bearer: bob });
    assert.equal(bobHistory.body.notifications[0].read, false, "Bob's notification is untouched");
    // Nor subscribe to Bob's topic.
    const topic = await request(`${server.url}/api/topics/user:bob/events?token=${alice}`);
    assert.equal(topic.status, 403);
    // A link-mode file is deleted only with its own delete token.
    const upload = await fetch(`${server.url}/api/upload`, {
      method: "POST",
      headers: { "x-filename": "bob.txt" },
      body: "bob's file",
    });
    const file = await upload.json();
    const other = await fetch(`${server.url}/api/upload`, {
      method: "POST",
      headers: { "x-filename": "alice.txt" },
      body: "alice's file",
    });
    const otherFile = await other.json();
    const wrongDelete = await fetch(`${server.url}/api/download/${file.id}`, {
      method: "DELETE",
      headers: { "x-delete-token": otherFile.deleteToken },
    });
    await wrongDelete.body?.cancel();
    assert.equal(wrongDelete.status, 403);
    const stillThere = await fetch(`${server.url}/api/download/${file.id}`);
    assert.equal(await stillThere.text(), "bob's file");
    // A transfer is closed only with one of its own tokens.
    const first =
      (await request(`${server.url}/api/transfer/create`, { method: "POST", json: {} })).body;
    const second =
      (await request(`${server.url}/api/transfer/create`, { method: "POST", json: {} })).body;
    const close = await request(`${server.url}/api/transfer/close`, {
      method: "POST",
      json: { transferId: first.transferId, token: second.senderToken },
    });
    assert.equal(close.status, 403);
  },
});

Deno.test({
  name: "security: pages and API answers carry CSP and the other secure headers",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    for (
      const path of [
        "/",
        "/share",
        "/notifications",
        "/chat/lobby",
        "/admin",
        "/docs",
        "/api/ice-servers",
        "/no-such-page",
      ]
    ) {
      const response = await fetch(`${server.url}${path}`, { headers: { accept: "text/html" } });
      await response.body?.cancel();
      const csp = response.headers.get("content-security-policy") ?? "";
      assert.match(csp, /default-src 'self'/, path);
      assert.match(csp, /script-src 'self'(;|$)/, `${path}: no inline or foreign scripts`);
      assert.match(csp, /object-src 'none'/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
      assert.equal(response.headers.get("referrer-policy"), "no-referrer", path);
      assert.ok(response.headers.get("strict-transport-security"), path);
    }
  },
});
