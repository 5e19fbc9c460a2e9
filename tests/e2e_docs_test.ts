import assert from "node:assert/strict";
import { browserAvailable, launchBrowser, screenshot, watchConsole } from "./browser.ts";
import { startServer } from "./harness.ts";

Deno.test({
  name: "the API reference and a guide render cleanly at desktop and phone widths",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startServer();
    const operations = await fetch(`${server.url}/docs/openapi.json`).then((response) =>
      response.json()
    ).then((document: { paths: Record<string, object> }) =>
      Object.values(document.paths).reduce((sum, item) => sum + Object.keys(item).length, 0)
    );
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors = watchConsole(page);
      await page.goto(`${server.url}/docs`);
      assert.equal(await page.locator("h1").textContent(), "Switchboard API");
      assert.equal(await page.locator("article.endpoint").count(), operations);
      // The sidebar links to each endpoint; following one lands on its card.
      await page.locator(".docs-nav").getByText("Join a channel (WebSocket)").click();
      await page.waitForURL(/#getWsChannelsByChannelId$/);
      const card = page.locator("#getWsChannelsByChannelId");
      assert.ok(await card.isVisible());
      assert.match(await card.locator(".endpoint-path").textContent() ?? "", /\/api\/ws\/channels/);
      assert.ok(await card.locator(".frame-type", { hasText: "message" }).isVisible());
      await page.goto(`${server.url}/docs`);
      await screenshot(page, "docs-desktop");
      await page.setViewportSize({ width: 390, height: 844 });
      // No sideways scrolling on a phone: wide tables and code scroll inside their boxes.
      const overflow = await page.evaluate(() =>
        document.documentElement.scrollWidth - document.documentElement.clientWidth
      );
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
      await screenshot(page, "docs-phone");

      await page.setViewportSize({ width: 1280, height: 900 });
      await page.locator(".guide-card", { hasText: "realtime protocol" }).click();
      await page.waitForURL(/\/docs\/guides\/protocol$/);
      assert.match(await page.locator("article.prose h1").textContent() ?? "", /protocol/i);
      assert.ok(await page.locator("article.prose table").first().isVisible());
      await page.locator(".guide-nav").getByText("Connections", { exact: true }).click();
      await page.waitForURL(/#connections$/);
      await screenshot(page, "docs-guide-desktop");
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${server.url}/docs/guides/protocol`);
      await screenshot(page, "docs-guide-phone");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});
