import assert from "node:assert/strict";
import { browserAvailable, launchBrowser, screenshot, watchConsole } from "./browser.ts";
import { request, startServer, TEST_API_KEY, waitFor } from "./harness.ts";
import { publishOk } from "./notifications_fixtures.ts";
import type { Page } from "playwright-core";

async function openPlayground(page: Page, url: string): Promise<string> {
  await page.goto(`${url}/notifications`);
  await page.waitForSelector('[data-island="NotificationPlayground"][data-hydrated="true"]');
  await page.waitForFunction(() =>
    document.querySelector('[data-testid="connection-status"]')?.textContent?.startsWith(
      "Connected",
    )
  );
  return (await page.getByTestId("identity-user").textContent()) ?? "";
}

/** Waits until the badge shows `expected` (the count settles on the server's). */
async function badgeBecomes(page: Page, expected: string): Promise<void> {
  await page.waitForFunction(
    (value) => document.querySelector('[data-testid="bell-badge"]')?.textContent === value,
    expected,
  );
}

async function badge(page: Page): Promise<string | null> {
  const element = page.getByTestId("bell-badge");
  return await element.count() ? await element.textContent() : null;
}

Deno.test({
  name: "the bell on two tabs toasts a new notification; reading it in one tab clears the other",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startServer({ env: { NOTIFY_RETRY_INTERVAL_MS: "1000" } });
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const tabOne = await context.newPage();
      const errorsOne = watchConsole(tabOne);
      const userId = await openPlayground(tabOne, server.url);
      assert.match(userId, /^guest_/);
      const tabTwo = await context.newPage();
      const errorsTwo = watchConsole(tabTwo);
      assert.equal(await openPlayground(tabTwo, server.url), userId, "one guest, two tabs");

      await publishOk(server, {
        userId,
        type: "success",
        data: { title: "Build finished", message: "main is green: 214 tests passed" },
      });
      for (const tab of [tabOne, tabTwo]) {
        await tab.getByTestId("toast").filter({ hasText: "Build finished" }).waitFor();
        await tab.waitForFunction(() =>
          document.querySelector('[data-testid="bell-badge"]')?.textContent === "1"
        );
      }
      // The tab acted on is brought to the front: a background tab's animation frames are
      // throttled, and each click's wait for a stable element took about 2 s there.
      await tabOne.bringToFront();
      await tabOne.getByTestId("toast").filter({ hasText: "Build finished" })
        .getByTestId("toast-read").click();
      await tabTwo.getByTestId("bell-badge").waitFor({ state: "detached" });
      await tabTwo.getByTestId("toast").waitFor({ state: "detached" });
      assert.equal(await badge(tabOne), null);
      await tabTwo.waitForFunction(() =>
        document.querySelector('[data-testid="history-item"]')?.getAttribute("data-read") ===
          "true"
      );

      // The form sends one that requires an ack: the bell acks it by itself.
      await tabOne.selectOption("#notify-type", "file_uploaded");
      await tabOne.getByLabel(/Requires an ack/).check();
      await tabOne.getByTestId("send").click();
      await tabTwo.getByTestId("toast").filter({ hasText: "File uploaded" }).waitFor();
      await waitFor(async () => {
        const log = await request(
          `${server.url}/api/notifications/log?userId=${userId}&status=acknowledged`,
          { bearer: TEST_API_KEY },
        );
        return log.body.entries.length === 1;
      }, { message: "the bell acked the requiresAck notification" });
      await tabOne.selectOption("#notify-type", "group.invitation.received");
      await tabOne.getByLabel(/Requires an ack/).uncheck();
      await tabOne.getByTestId("send").click();
      await tabOne.getByTestId("toast").filter({ hasText: "Invitation to Design team" }).waitFor();
      await tabOne.waitForFunction(() =>
        document.querySelector('[data-testid="bell-badge"]')?.textContent === "2"
      );
      await tabOne.getByTestId("bell-button").click();
      await tabOne.getByTestId("bell-panel").waitFor();
      assert.equal(await tabOne.getByTestId("bell-item").count(), 3);
      await screenshot(tabOne, "notifications-desktop");

      await tabOne.getByTestId("bell-read-all").click();
      await tabTwo.getByTestId("bell-badge").waitFor({ state: "detached" });
      await tabTwo.bringToFront();
      await tabTwo.setViewportSize({ width: 390, height: 844 });
      await tabTwo.getByTestId("bell-button").click();
      await tabTwo.getByTestId("bell-panel").waitFor();
      await screenshot(tabTwo, "notifications-phone");
      assert.deepEqual(errorsOne, []);
      assert.deepEqual(errorsTwo, []);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "the bell embeds in another site with a script tag and an element, across origins",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startServer();
    // The other site: its backend mints a Switchboard user token for its signed-in user.
    const site = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/switchboard-token") {
        const minted = await request(`${server.url}/api/tokens`, {
          method: "POST",
          bearer: TEST_API_KEY,
          json: { userId: "shop-customer-7" },
        });
        return Response.json({ token: minted.body.token });
      }
      const props = JSON.stringify({ apiBase: server.url, tokenUrl: "/switchboard-token" });
      return new Response(
        `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title></head><body>
<header style="display:flex;justify-content:space-between;padding:1rem"><b>Shop</b>
<script type="application/json" id="sb-bell-props">${props}</script>
<div data-island="NotificationBell" data-props="sb-bell-props"></div></header>
<script type="module" src="${server.url}/embed/notification-bell.js"></script>
</body></html>`,
        { headers: { "content-type": "text/html; charset=utf-8" } },
      );
    });
    const siteUrl = `http://127.0.0.1:${site.addr.port}`;
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
      const errors = watchConsole(page);
      await page.goto(siteUrl);
      await page.waitForSelector('[data-island="NotificationBell"][data-hydrated="true"]');
      await page.waitForSelector('[data-testid="bell"][data-state="open"]');
      await publishOk(server, {
        userId: "shop-customer-7",
        type: "campaign_created",
        data: { campaignId: "c1", name: "Autumn sale" },
      });
      await page.getByTestId("toast").filter({ hasText: "Autumn sale" }).waitFor();
      await badgeBecomes(page, "1");
      await page.getByTestId("bell-button").click();
      await page.getByTestId("bell-panel").waitFor();
      await screenshot(page, "notifications-embed");
      await page.getByTestId("bell-button").click();
      const styled = await page.evaluate(() =>
        getComputedStyle(document.querySelector(".sb-toasts")!).position
      );
      assert.equal(styled, "fixed", "the bell's stylesheet loaded across origins");
      await page.getByTestId("toast-read").click();
      await page.getByTestId("bell-badge").waitFor({ state: "detached" });
      const token = await (await fetch(`${siteUrl}/switchboard-token`)).json();
      await waitFor(async () => {
        const count = await request(`${server.url}/api/notifications/unread-count`, {
          bearer: token.token,
        });
        return count.body.unreadCount === 0;
      }, { message: "marked read on the server, through CORS" });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await site.shutdown();
    }
  },
});
