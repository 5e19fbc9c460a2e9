import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
import { browserAvailable, launchBrowser } from "./browser.ts";
import { startServer, type TestServer } from "./harness.ts";
import { chatToken, history } from "./chat_fixtures.ts";
import { publishOk } from "./notifications_fixtures.ts";

/** Opens `/notifications`, waits until its feed is connected, returns who the page says you are. */
async function openNotifications(
  context: BrowserContext,
  server: TestServer,
  errors: string[],
): Promise<{ page: Page; userId: string; name: string }> {
  const page = await context.newPage();
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(`${server.url}/notifications`);
  await page.waitForSelector('[data-island="NotificationPlayground"][data-hydrated="true"]');
  await page.waitForFunction(() =>
    document.querySelector('[data-testid="connection-status"]')?.textContent?.startsWith(
      "Connected",
    )
  );
  return {
    page,
    userId: (await page.getByTestId("identity-user").textContent()) ?? "",
    name: (await page.getByTestId("identity-name").textContent()) ?? "",
  };
}

/** Opens `/chat/lobby` (joining as `name` when the page asks), waits until connected. */
async function openChat(
  context: BrowserContext,
  server: TestServer,
  errors: string[],
  name?: string,
): Promise<Page> {
  const page = await context.newPage();
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(`${server.url}/chat/lobby`);
  await page.waitForSelector('[data-island="ChatRoom"][data-hydrated="true"]');
  if (name) {
    await page.getByLabel("Your name").fill(name);
    await page.getByRole("button", { name: "Join chat" }).click();
  }
  await page.waitForFunction(() =>
    document.querySelector('[data-testid="connection-status"]')?.textContent === "Connected"
  );
  return page;
}

/** The user id the chat page lists as "(you)" once presence shows it. */
async function chatUserId(page: Page): Promise<string> {
  const you = page.locator('[data-testid="online-users"] li').filter({ hasText: "(you)" });
  await you.waitFor();
  return (await you.getAttribute("data-user-id")) ?? "";
}

Deno.test({
  name:
    "one guest in Chromium: /notifications and /chat/lobby in one browser context act as the same user id",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startServer();
    const browser = await launchBrowser();
    try {
      // Notifications first: the page makes the guest; the chat page then asks no name.
      const errors: string[] = [];
      const first = await browser.newContext();
      const notifications = await openNotifications(first, server, errors);
      assert.match(notifications.userId, /^guest_/);
      const chat = await openChat(first, server, errors);
      assert.equal(await chatUserId(chat), notifications.userId);
      assert.equal(await chat.getByLabel("Your name").count(), 0, "no name asked");

      // The chat page acts as that user: its message is stored under the id…
      await chat.getByRole("textbox", { name: "Message" }).fill("hello from the chat page");
      await chat.getByRole("textbox", { name: "Message" }).press("Enter");
      await chat.locator('[data-testid="chat-message"].mine').filter({
        hasText: "hello from the chat page",
      }).waitFor();
      const reader = await chatToken(server, "reader");
      const stored = await history(server, "lobby", reader, "?limit=5");
      assert.deepEqual(
        stored.body.messages.map((message: { userId: string }) => message.userId),
        [notifications.userId],
      );
      // …and a notification to the id reaches the notifications page.
      await publishOk(server, {
        userId: notifications.userId,
        type: "success",
        data: { title: "Same person", message: "chat and notifications agree" },
      });
      await notifications.page.getByTestId("toast").filter({ hasText: "Same person" }).waitFor();

      // Chat first, in a fresh context: the name picked there is the notifications page's guest.
      const second = await browser.newContext();
      const chatFirst = await openChat(second, server, errors, "Ada");
      const chatId = await chatUserId(chatFirst);
      const later = await openNotifications(second, server, errors);
      assert.equal(later.userId, chatId);
      assert.equal(later.name, "Ada");
      assert.notEqual(chatId, notifications.userId, "another browser is another guest");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});
