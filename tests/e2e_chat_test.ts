import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
import { browserAvailable, launchBrowser, screenshot, watchConsole } from "./browser.ts";
import { startServer, type TestServer, waitFor } from "./harness.ts";
import { openSocket } from "./ws_client.ts";
import { chatToken, history } from "./chat_fixtures.ts";

const CHANNEL = "e2e";

/** Opens the chat page in a fresh context, joins as a guest named `name`, waits until connected. */
async function join(
  context: BrowserContext,
  server: TestServer,
  name: string,
): Promise<{ page: Page; errors: string[]; dialogs: string[]; sockets: string[] }> {
  const page = await context.newPage();
  const errors = watchConsole(page);
  const dialogs: string[] = [];
  // Every WebSocket URL the page opens: the 7-day guest token must not be in one.
  const sockets: string[] = [];
  page.on("websocket", (socket) => sockets.push(socket.url()));
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(`${server.url}/chat/${CHANNEL}`);
  await page.waitForSelector('[data-island="ChatRoom"][data-hydrated="true"]');
  await page.getByLabel("Your name").fill(name);
  await page.getByRole("button", { name: "Join chat" }).click();
  await waitForText(page, '[data-testid="connection-status"]', "Connected");
  return { page, errors, dialogs, sockets };
}

async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([selector, text]) => document.querySelector(selector!)?.textContent?.includes(text!) ?? false,
    [selector, text],
    { timeout: 15_000 },
  );
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByRole("textbox", { name: "Message" }).fill(text);
  await page.getByRole("textbox", { name: "Message" }).press("Enter");
}

/** The texts of the stored (echoed) messages a page shows, in order. */
function shownTexts(page: Page): Promise<string[]> {
  return page.locator('[data-testid="chat-message"] [data-testid="chat-text"]').allTextContents();
}

/** Console errors Chromium prints for sockets that cannot connect while offline, and nothing else. */
function unexpected(errors: string[], port: number): string[] {
  const offlineSocket = new RegExp(
    `^WebSocket connection to 'ws://127\\.0\\.0\\.1:${port}/api/ws/channels/${CHANNEL}(\\?since=[^']+)?' failed: .*ERR_INTERNET_DISCONNECTED`,
  );
  return errors.filter((error) => !offlineSocket.test(error));
}

Deno.test({
  name: "chat in Chromium: two pages talk, HTML stays text, offline messages go out once",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startServer({ env: { CONNECTION_MESSAGES_PER_SECOND: "200" } });
    // Older history to scroll back through: 60 messages before anyone opens the page.
    const seederToken = await chatToken(server, "seeder", { name: "Seeder" });
    const seeder = await openSocket(
      `${server.wsUrl}/api/ws/channels/${CHANNEL}?token=${seederToken}`,
    );
    for (let index = 1; index <= 60; index++) {
      seeder.send({ type: "message", content: `seed ${index}` });
    }
    await seeder.collect((frame) => frame.type === "message", 60);
    await seeder.close();

    const browser = await launchBrowser();
    try {
      const contextA = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const contextB = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const ada = await join(contextA, server, "Ada");
      const bob = await join(contextB, server, "Bob");

      // Infinite scroll back: the page shows the last 50, scrolling up loads the rest.
      assert.equal((await shownTexts(ada.page)).length, 50);
      await ada.page.locator('[data-testid="chat-messages"]').evaluate((list) =>
        list.scrollTop = 0
      );
      await ada.page.waitForFunction(() =>
        document.querySelectorAll('[data-testid="chat-message"]').length === 60
      );
      assert.deepEqual(
        (await shownTexts(ada.page)).slice(0, 3),
        ["seed 1", "seed 2", "seed 3"],
      );
      await waitForText(ada.page, '[data-testid="chat-messages"]', "The beginning of #e2e");

      // Presence: each sees both.
      await waitForText(ada.page, '[data-testid="online-users"]', "Bob");
      await waitForText(bob.page, '[data-testid="online-users"]', "Ada");

      // A message reaches both pages.
      await send(ada.page, "Hello Bob");
      await waitForText(bob.page, '[data-testid="chat-messages"]', "Hello Bob");
      await waitForText(ada.page, '[data-testid="chat-messages"]', "Hello Bob");

      // Typing shows on the other page only.
      await bob.page.getByRole("textbox", { name: "Message" }).pressSequentially("typ", {
        delay: 20,
      });
      await waitForText(ada.page, '[data-testid="typing"]', "Bob is typing…");
      assert.equal(await bob.page.locator('[data-testid="typing"]').textContent(), "");

      // HTML is shown as text: no element, no script.
      const attack = "<img src=x onerror=alert(1)>";
      await send(bob.page, attack);
      for (const page of [ada.page, bob.page]) {
        await page.waitForFunction(
          (text) =>
            [...document.querySelectorAll('[data-testid="chat-text"]')]
              .some((element) => element.textContent === text),
          attack,
        );
        assert.equal(await page.locator('[data-testid="chat-messages"] img').count(), 0);
      }
      // Sending ended Bob's typing.
      await ada.page.waitForFunction(() =>
        document.querySelector('[data-testid="typing"]')?.textContent === ""
      );

      // Offline: the message waits as "sending…", the banner shows, then it goes out once.
      await contextA.setOffline(true);
      await waitForText(ada.page, '[data-testid="connection-banner"]', "Reconnecting");
      await send(ada.page, "sent while offline");
      await waitForText(ada.page, '[data-testid="chat-pending"]', "sending…");
      await screenshot(ada.page, "chat-offline-desktop");
      // Held back while offline: neither stored nor shown to Bob.
      assert.ok(!(await shownTexts(bob.page)).includes("sent while offline"));
      const whileOffline = await history(server, CHANNEL, seederToken, "?limit=10");
      assert.ok(
        !whileOffline.body.messages.some((message: { content: string }) =>
          message.content === "sent while offline"
        ),
      );
      await contextA.setOffline(false);
      await waitForText(bob.page, '[data-testid="chat-messages"]', "sent while offline");
      await ada.page.waitForFunction(() =>
        document.querySelectorAll('[data-testid="chat-pending"]').length === 0
      );
      await waitForText(ada.page, '[data-testid="connection-status"]', "Connected");
      assert.equal(await ada.page.locator('[data-testid="connection-banner"]').count(), 0);
      // Messages arrive in the channel's order: a second copy would come before this one.
      await send(bob.page, "after the reconnect");
      for (const page of [ada.page, bob.page]) {
        await waitForText(page, '[data-testid="chat-messages"]', "after the reconnect");
      }
      for (const page of [ada.page, bob.page]) {
        const texts = await shownTexts(page);
        assert.equal(texts.filter((text) => text === "sent while offline").length, 1);
      }
      const stored = await history(server, CHANNEL, seederToken, "?limit=10");
      assert.equal(
        stored.body.messages.filter((message: { content: string }) =>
          message.content === "sent while offline"
        ).length,
        1,
        "stored once",
      );

      await waitFor(async () =>
        (await ada.page.locator('[data-testid="online-users"] li').count()) === 2
      );
      await screenshot(ada.page, "chat-desktop");
      await ada.page.setViewportSize({ width: 390, height: 844 });
      await screenshot(ada.page, "chat-phone");
      await bob.page.setViewportSize({ width: 390, height: 844 });
      await screenshot(bob.page, "chat-phone-other");

      assert.deepEqual(ada.dialogs, []);
      assert.deepEqual(bob.dialogs, []);
      // The token travelled as the subprotocol `token.<token>`, never in a URL (proxy logs).
      // (The header's notification bell uses a single-use stream token in its URL, by design.)
      for (const { sockets } of [ada, bob]) {
        const channel = sockets.filter((url) => url.includes("/api/ws/channels/"));
        assert.ok(channel.length >= 1, "the page opened its channel socket");
        for (const url of channel) {
          assert.match(url, new RegExp(`/api/ws/channels/${CHANNEL}(\\?since=[^&]+)?$`));
        }
        for (const url of sockets.filter((url) => !channel.includes(url))) {
          assert.match(url, /\/api\/ws\/notifications\?token=/, url);
          const token = new URL(url).searchParams.get("token")!;
          const claims = JSON.parse(
            atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")),
          );
          assert.equal(claims.kind, "stream", "only single-use stream tokens in URLs");
        }
      }
      assert.deepEqual(unexpected(ada.errors, server.port), []);
      assert.deepEqual(bob.errors, []);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "chat page: the name form renders at phone width and a bad channel name is a 404 page",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startServer();
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
      const errors = watchConsole(page);
      await page.goto(`${server.url}/chat/lobby`);
      await page.waitForSelector('[data-island="ChatRoom"][data-hydrated="true"]');
      await page.getByLabel("Your name").waitFor();
      await screenshot(page, "chat-join-phone");
      const missing = await page.goto(`${server.url}/chat/Not%20Valid`);
      assert.equal(missing?.status(), 404);
      assert.deepEqual(errors.filter((error) => !/status of 404/.test(error)), []);
    } finally {
      await browser.close();
    }
  },
});
