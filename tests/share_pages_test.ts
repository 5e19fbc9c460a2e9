import assert from "node:assert/strict";
import { sharedServer, startServer } from "./harness.ts";
import { createSession, joinSession, openJoiner, sdp } from "./transfer_fixtures.ts";
import { upgradeStatus } from "./ws_client.ts";

/** The server of the tests below that need none of their own (see sharedServer). */
const shared = sharedServer();

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

function islandProps(html: string, name: string): Record<string, unknown> {
  const id = new RegExp(`data-island="${name}" data-props="([^"]+)"`).exec(html)?.[1];
  assert.ok(id, `island ${name} is on the page`);
  const json = new RegExp(`<script type="application/json" id="${id}">([^<]*)</script>`)
    .exec(html)?.[1];
  assert.ok(json, "its props are serialized next to it");
  return JSON.parse(json);
}

Deno.test({
  name:
    "/share has the live tab (default) with the fallback timeout from config, and /r/:code the receive island",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { FALLBACK_TIMEOUT_MS: "7000" } });
    const share = await (await fetch(`${server.url}/share`)).text();
    assert.deepEqual(islandProps(share, "ShareLive"), {
      fallbackTimeoutMs: 7000,
      maxUploadBytes: 100 * 1024 * 1024,
    });
    assert.ok(share.indexOf('id="live"') < share.indexOf('id="link"'), "live comes first");
    assert.match(share, /<form[^>]*action="\/r"/, "the code box works without script");

    const page = await fetch(`${server.url}/r/K7QX3M`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("cache-control"), "no-store");
    assert.deepEqual(islandProps(await page.text(), "ReceiveFiles"), {
      code: "K7QX3M",
      fallbackTimeoutMs: 7000,
    });
  },
});

Deno.test({
  name: "codes typed in any form lead to /r/<CODE>; impossible codes get a 404 page",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const go = (path: string) => fetch(`${server.url}${path}`, { redirect: "manual" });
    const typed = await go("/r?code=%20k7q-x3m%20");
    assert.equal(typed.status, 302);
    assert.equal(typed.headers.get("location"), "/r/K7QX3M");
    await typed.body?.cancel();
    const lower = await go("/r/k7qx3m");
    assert.equal(lower.status, 301);
    assert.equal(lower.headers.get("location"), "/r/K7QX3M");
    await lower.body?.cancel();
    for (const path of ["/r?code=ABC", "/r/IL0OU1", "/r?code="]) {
      const response = await go(path);
      assert.equal(response.status, 404, path);
      assert.match(await response.text(), /code/i);
    }
  },
});

Deno.test({
  name:
    "the signaling socket takes the transfer token as a WebSocket subprotocol, keeping it out of the URL",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const session = await createSession(server);
    const joined = await joinSession(server, session.code);
    await using joiner = await openJoiner(server, session.code, joined);
    const url = `${server.wsUrl}/api/ws/file-share-session?code=${session.code}&role=creator`;
    const socket = new WebSocket(url, ["switchboard", `token.${session.senderToken}`]);
    const frames: Record<string, unknown>[] = [];
    const stored = new Promise<void>((resolve, reject) => {
      socket.onmessage = (event) => {
        const frame = JSON.parse(event.data);
        frames.push(frame);
        if (frame.type === "offer-stored") resolve();
      };
      socket.onclose = (event) => reject(new Error(`closed ${event.code}`));
    });
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    assert.equal(socket.protocol, "switchboard");
    socket.send(JSON.stringify({ type: "offer", offer: sdp("offer", "subprotocol") }));
    await stored;
    const offer = await joiner.next((frame) => frame.type === "offer");
    assert.match(offer.offer.sdp, /subprotocol/);
    socket.close();

    const missing = await upgradeStatus(url);
    assert.equal(missing.status, 400);
    const forged = await upgradeStatus(`${url}&token=ts_forged`);
    assert.equal(forged.status, 403);
  },
});
