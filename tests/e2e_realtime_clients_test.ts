/**
 * @module
 * Chromium's own `EventSource` and `WebSocket`, as a page that knows nothing of
 * Switchboard's SDK uses them: the browser's automatic SSE reconnect resumes
 * exactly across a server restart, and every refused WebSocket connect is seen
 * as an `error` frame plus its close code.
 */
import assert from "node:assert/strict";
import { browserAvailable, launchBrowser } from "./browser.ts";
import { startServer } from "./harness.ts";
import { publishOk, streamToken, userToken } from "./notifications_fixtures.ts";
import { channelUrl, chatToken } from "./chat_fixtures.ts";
import { createSession, signalingUrl } from "./transfer_fixtures.ts";
import { openSocket } from "./ws_client.ts";

const BROWSER_TEST = {
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
};

declare global {
  // State the test pages keep (set in page.evaluate).
  var messages: string[];
  var opens: number;
  var readies: number;
}

Deno.test({
  name:
    "Chromium's EventSource (only onmessage) reconnects by itself after a restart and resumes exactly",
  ...BROWSER_TEST,
  async fn() {
    let server = await startServer();
    const browser = await launchBrowser();
    try {
      const token = await streamToken(server, await userToken(server, "ada"));
      const page = await browser.newPage();
      await page.goto(`${server.url}/healthz`);
      await page.evaluate((url) => {
        globalThis.messages = [];
        globalThis.opens = 0;
        globalThis.readies = 0;
        const source = new EventSource(url);
        source.onopen = () => globalThis.opens++;
        // The test's signal that the subscription is live; onmessage never sees it.
        source.addEventListener("notification.ready", () => globalThis.readies++);
        source.onmessage = (event) => globalThis.messages.push(JSON.parse(event.data).data.message);
      }, `/api/notifications/stream?token=${token}`);
      await page.waitForFunction(() => globalThis.readies === 1);
      for (const message of ["a", "b"]) {
        await publishOk(server, { userId: "ada", type: "success", data: { message } });
      }
      await page.waitForFunction(() => globalThis.messages.length === 2);
      server = await server.restart();
      for (const message of ["c", "d"]) {
        await publishOk(server, { userId: "ada", type: "success", data: { message } });
      }
      await page.waitForFunction(() => globalThis.messages.length >= 4, null, { timeout: 20_000 });
      await publishOk(server, { userId: "ada", type: "success", data: { message: "e" } });
      await page.waitForFunction(() => globalThis.messages.includes("e"));
      assert.deepEqual(await page.evaluate(() => globalThis.messages), ["a", "b", "c", "d", "e"]);
      assert.equal(await page.evaluate(() => globalThis.opens), 2, "one automatic reconnect");
    } finally {
      await browser.close();
      await server.stop();
    }
  },
});

Deno.test({
  name: "Chromium's WebSocket sees each refused connect as an error frame and its close code",
  ...BROWSER_TEST,
  async fn() {
    await using server = await startServer({ env: { CHANNEL_MAX_CONNECTIONS: "1" } });
    const session = await createSession(server);
    const ada = await chatToken(server, "ada");
    const topicsOnly = await chatToken(server, "ops", { perms: ["topics:read"] });
    await using occupant = await openSocket(channelUrl(server, "small", ada));
    await occupant.next((frame) => frame.type === "initial_state");
    const cases = [
      {
        url: signalingUrl(server, { code: "ZZZZZZ", role: "joiner", token: "tr_x" }),
        code: "session_not_found",
        close: 4404,
      },
      {
        url: signalingUrl(server, { code: session.code, role: "creator", token: "ts_wrong" }),
        code: "invalid_transfer_token",
        close: 4403,
      },
      {
        url: `${server.wsUrl}/api/ws/notifications?token=not.a.token`,
        code: "invalid_token",
        close: 4401,
      },
      { url: channelUrl(server, "lobby", topicsOnly), code: "no_read_permission", close: 4403 },
      { url: channelUrl(server, "small", ada), code: "channel_full", close: 4503 },
    ];
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}/healthz`);
      for (const expected of cases) {
        const seen = await page.evaluate(
          (url) =>
            new Promise<{ frames: { code: string; message: string }[]; close: number }>(
              (resolve) => {
                const frames: { code: string; message: string }[] = [];
                const socket = new WebSocket(url);
                socket.onmessage = (event) => frames.push(JSON.parse(event.data));
                socket.onclose = (event) => resolve({ frames, close: event.code });
              },
            ),
          expected.url,
        );
        assert.equal(seen.frames.length, 1, JSON.stringify(seen));
        assert.equal(seen.frames[0]!.code, expected.code);
        assert.ok(seen.frames[0]!.message.length > 0);
        assert.equal(seen.close, expected.close, expected.code);
      }
    } finally {
      await browser.close();
    }
  },
});
