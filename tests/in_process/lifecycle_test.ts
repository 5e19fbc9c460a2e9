import assert from "node:assert/strict";
import { API_KEY, json, startInProcess } from "./_app.ts";
import { openSocket } from "../ws_client.ts";

// Deno 2.9 turns the op and resource sanitizers off by default: these tests turn them on, so a
// timer, KV handle or watch, BroadcastChannel or socket left behind by a stop fails them.
const sanitized = { sanitizeOps: true, sanitizeResources: true } as const;

Deno.test({
  name: "the app starts and stops in-process twice, leaving no timers, ops or resources",
  ...sanitized,
}, async () => {
  for (let round = 1; round <= 2; round++) {
    const server = await startInProcess({ BROADCAST_CHANNEL: "on" });
    const health = await server.app.request("/healthz");
    assert.equal(health.status, 200, `round ${round}`);
    assert.equal((await health.json()).kv, "ok");
    const guest = await server.app.request("/api/auth/guest", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Ada" }),
    });
    assert.equal(guest.status, 201);
    await guest.body?.cancel();
    await server.stop();
    // Stopping again waits for the first stop and does nothing more.
    await server[Symbol.asyncDispose]();
  }
});

Deno.test({
  name: "on a real Deno.serve (port 0), stop closes open WebSockets with 1012 and leaks nothing",
  ...sanitized,
}, async () => {
  const server = await startInProcess();
  const http = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, server.fetch);
  try {
    const base = `127.0.0.1:${http.addr.port}`;
    const health = await fetch(`http://${base}/healthz`);
    assert.equal((await health.json()).isolate, "inproc");
    const minted = await fetch(
      `http://${base}/api/tokens`,
      json("POST", { userId: "ada", perms: ["topics:read"] }, API_KEY),
    );
    const { token } = await minted.json();
    const socket = await openSocket(`ws://${base}/api/ws/topics/app:bye?token=${token}`);
    // The answer to a ping means the server has the connection open (and in its list).
    socket.send({ type: "ping" });
    await socket.next((frame) => frame.type === "pong");
    await server.stop("test");
    const closed = await socket.closed;
    assert.equal(closed.code, 1012, closed.reason);
  } finally {
    await server.stop();
    await http.shutdown();
  }
});
