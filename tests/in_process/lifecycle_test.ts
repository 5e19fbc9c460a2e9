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
  const kvPath = await Deno.makeTempFile({ suffix: ".sqlite3" });
  // Every KV operation takes 50 ms: a close handler still writing when KV closes would show.
  const server = await startInProcess({ KV_PATH: kvPath, SIMULATE_KV_LATENCY: "50/1" });
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
    // A chat connection: its close handler leaves presence and gives its channel place
    // back, both KV writes that must finish before KV closes.
    const guest = await fetch(`http://${base}/api/auth/guest`, json("POST", { name: "Gus" }));
    const chat = await openSocket(
      `ws://${base}/api/ws/channels/lobby?token=${(await guest.json()).token}`,
    );
    await chat.next((frame) => frame.type === "initial_state");
    await server.stop("test");
    for (const closed of await Promise.all([socket.closed, chat.closed])) {
      assert.equal(closed.code, 1012, closed.reason);
    }
    // The chat connection left presence before KV closed: nothing of it stays behind.
    using kv = await Deno.openKv(kvPath);
    for (const prefix of [["presence"], ["presence_online"]]) {
      const left = await Array.fromAsync(kv.list({ prefix }));
      assert.deepEqual(left.map((entry) => entry.key), [], `${prefix} entries stay`);
    }
  } finally {
    await server.stop();
    await http.shutdown();
    await Deno.remove(kvPath).catch(() => {});
  }
});

Deno.test({
  name: "/readyz is 200 while the isolate runs and 503 (draining) from the moment stop begins",
  ...sanitized,
}, async () => {
  const server = await startInProcess();
  const ready = await server.app.request("/readyz");
  assert.equal(ready.status, 200);
  assert.deepEqual(
    { ...(await ready.json()), isolate: "-" },
    { ready: true, kv: "ok", draining: false, isolate: "-" },
  );
  const stopping = server.stop();
  const draining = await server.app.request("/readyz");
  assert.equal(draining.status, 503);
  const body = await draining.json();
  assert.equal(body.ready, false);
  assert.equal(body.draining, true);
  await stopping;
});
