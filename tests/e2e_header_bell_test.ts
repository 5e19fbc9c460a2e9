import assert from "node:assert/strict";
import { browserAvailable, launchBrowser, watchConsole } from "./browser.ts";
import { request, startServer } from "./harness.ts";
import { publishOk } from "./notifications_fixtures.ts";

const HEADER_BELL = '.site-bell [data-island="NotificationBell"]';

Deno.test({
  name: "the shared header shows the bell once a visitor has an identity; saving type " +
    "toggles on /notifications keeps the muted groups",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startServer();
    const browser = await launchBrowser();
    try {
      const page = await (await browser.newContext()).newPage();
      const errors = watchConsole(page);

      // A first visit: no identity, no bell (the island is there, hydrated, empty).
      await page.goto(`${server.url}/share`);
      await page.waitForSelector(`${HEADER_BELL}[data-hydrated="true"]`, { state: "attached" });
      assert.equal(await page.locator('.site-bell [data-testid="bell"]').count(), 0);

      // /notifications gives the visitor an identity and has a bell of its own (one only).
      await page.goto(`${server.url}/notifications`);
      await page.waitForFunction(() =>
        document.querySelector('[data-testid="connection-status"]')?.textContent?.startsWith(
          "Connected",
        )
      );
      assert.equal(await page.locator(".site-bell").count(), 0);
      assert.equal(await page.getByTestId("bell").count(), 1);
      const userId = (await page.getByTestId("identity-user").textContent()) ?? "";
      const token = await page.evaluate(() =>
        JSON.parse(localStorage.getItem("switchboard.guest") ?? "{}").token as string
      );

      // Muting a type on the page keeps the groups muted elsewhere.
      const put = await request(`${server.url}/api/notifications/preferences`, {
        method: "PUT",
        bearer: token,
        json: { muted: [], mutedGroups: ["g_design"] },
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      await page.reload();
      await page.locator(".notify-preferences summary").click();
      const box = page.locator(".notify-preferences label", { hasText: /^\s*campaign_created$/ })
        .locator("input");
      await box.waitFor();
      await page.waitForFunction(() =>
        !document.querySelector(".notify-preferences input")?.hasAttribute("disabled")
      );
      await box.check();
      await page.locator(".notify-preferences .notice", { hasText: "campaign_created muted" })
        .waitFor();
      const saved = await request(`${server.url}/api/notifications/preferences`, {
        bearer: token,
      });
      const { muted, mutedGroups } = saved.body;
      assert.deepEqual({ muted, mutedGroups }, {
        muted: ["campaign_created"],
        mutedGroups: ["g_design"],
      });

      // Any other page: the header bell, live.
      await page.goto(`${server.url}/chat/lobby`);
      await page.locator('.site-bell [data-testid="bell"]').waitFor();
      await publishOk(server, { userId, type: "success", data: { message: "Deployed" } });
      await page.waitForFunction(() =>
        document.querySelector('.site-bell [data-testid="bell-badge"]')?.textContent === "1"
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});
