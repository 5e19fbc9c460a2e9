import assert from "node:assert/strict";
import { request, startServer, TEST_API_KEY } from "./harness.ts";
import { openSocket } from "./ws_client.ts";

Deno.test({
  name: "SIGTERM closes WebSockets with a going-away/restart code and exits cleanly",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startServer({ isolates: 2, env: { LOG_LEVEL: "info" } });
    const minted = await request(`${server.url}/api/tokens`, {
      method: "POST",
      bearer: TEST_API_KEY,
      json: { userId: "shutdown", perms: ["topics:read"] },
    });
    const sockets = await Promise.all(
      Array.from(
        { length: 6 },
        () => openSocket(`${server.wsUrl}/api/ws/topics/app:bye?token=${minted.body.token}`),
      ),
    );
    const started = Date.now();
    await server.stop();
    const closes = await Promise.all(sockets.map((socket) => socket.closed));
    // `deno serve` closes upgraded sockets itself on SIGTERM (1001 going away) and
    // may get there before Switchboard's own 1012 "server restarting, resume".
    // Both mean "reconnect and resume" to clients (docs/protocol.md).
    for (const close of closes) assert.ok([1001, 1012].includes(close.code), String(close.code));
    assert.ok(Date.now() - started < 8000, "exited before the harness had to kill it");
    assert.match(server.output(), /"event":"isolate_stopping"/);
  },
});
