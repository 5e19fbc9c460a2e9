import assert from "node:assert/strict";
import { browserAvailable, launchBrowser, screenshot, watchConsole } from "./browser.ts";
import { startServer } from "./harness.ts";

Deno.test({
  name:
    "the landing page's island hydrates and switches tabs on click; the phone layout shows every nav link",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startServer();
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const errors = watchConsole(page);
      await page.goto(`${server.url}/`);
      await page.waitForSelector('[data-island="QuickStart"][data-hydrated="true"]');
      const title = page.getByTestId("example-title");
      assert.equal(await title.textContent(), "Publish a notification");
      await page.getByRole("tab", { name: "Upload" }).click();
      await page.waitForFunction(() =>
        document.querySelector('[data-testid="example-title"]')?.textContent ===
          "Upload a file, get a link"
      );
      assert.match(await page.locator("pre code").textContent() ?? "", /X-Filename/);
      await screenshot(page, "landing-desktop");
      await page.setViewportSize({ width: 360, height: 780 });
      await screenshot(page, "landing-phone");
      // At phone width every main navigation link is on screen (none scrolled out of view).
      const links = await page.locator('nav[aria-label="Main"] a').evaluateAll((anchors) =>
        anchors.map((anchor) => {
          const box = anchor.getBoundingClientRect();
          return { text: anchor.textContent, left: box.left, right: box.right };
        })
      );
      assert.equal(links.length, 5);
      for (const link of links) {
        assert.ok(link.left >= 0 && link.right <= 360, `${link.text} is off screen: ${link.right}`);
      }
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});
