import assert from "node:assert/strict";
import { browserAvailable, launchBrowser, screenshot, watchConsole } from "./browser.ts";
import { request, startServer, TEST_API_KEY } from "./harness.ts";
import { openSocket } from "./ws_client.ts";

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "admin API: the snapshot needs the API key and the stream an admin stream token",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    assert.equal((await request(`${server.url}/api/admin/snapshot`)).status, 401);
    const snapshot = await request(`${server.url}/api/admin/snapshot`, { bearer: TEST_API_KEY });
    assert.equal(snapshot.status, 200);
    assert.equal(snapshot.body.isolates.length, 1);
    assert.deepEqual(Object.keys(snapshot.body.transfers).sort(), [
      "closed",
      "created",
      "expired",
      "joined",
    ]);
    const user = await request(`${server.url}/api/tokens`, {
      method: "POST",
      bearer: TEST_API_KEY,
      json: { userId: "not-admin" },
    });
    const refused = await request(`${server.url}/api/admin/stream?token=${user.body.token}`);
    assert.equal(refused.status, 403);
    assert.equal(
      (await request(`${server.url}/api/admin/stream-token`, { method: "POST" })).status,
      401,
    );
  },
});

Deno.test({
  name: "the admin dashboard shows both isolates and live connection counts in Chromium",
  ignore: !browserAvailable(),
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ isolates: 2 });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors = watchConsole(page);
      const requested: string[] = [];
      page.on("request", (outgoing) => requested.push(outgoing.url()));
      await page.goto(`${server.url}/admin`);
      await page.waitForSelector('[data-island="AdminDashboard"][data-hydrated="true"]');
      await page.fill("#admin-key", TEST_API_KEY);
      await page.getByRole("button", { name: "Open dashboard" }).click();
      await page.waitForSelector('[data-testid="admin-status"]:text("live")');
      await page.waitForFunction(() =>
        document.querySelector('[data-testid="admin-isolates"]')?.textContent === "2"
      );
      const minted = await request(`${server.url}/api/tokens`, {
        method: "POST",
        bearer: TEST_API_KEY,
        json: { userId: "watched", perms: ["topics:read"] },
      });
      const sockets = await Promise.all(
        Array.from(
          { length: 3 },
          () => openSocket(`${server.wsUrl}/api/ws/topics/app:dash?token=${minted.body.token}`),
        ),
      );
      // 3 topic sockets + the dashboard's own SSE stream.
      await page.waitForFunction(
        () => Number(document.querySelector('[data-testid="admin-connections"]')?.textContent) >= 4,
        undefined,
        { timeout: 15_000 },
      );
      await page.waitForSelector("td:text('app:dash')");
      await screenshot(page, "admin-desktop");
      await page.setViewportSize({ width: 390, height: 844 });
      await screenshot(page, "admin-phone");
      await Promise.all(sockets.map((socket) => socket.close()));
      assert.ok(
        requested.every((url) => !url.includes(TEST_API_KEY)),
        "the API key never in a URL",
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});
