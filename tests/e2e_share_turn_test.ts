import assert from "node:assert/strict";
import { browserAvailable, launchBrowser, screenshot } from "./browser.ts";
import { request, startServer } from "./harness.ts";
import { coturnAvailable, startCoturn } from "./_coturn.ts";
import {
  createTransfer,
  fileRows,
  newPage,
  openReceivePage,
  openSendPage,
  randomFile,
  receiverPhase,
  saveAndCompare,
  senderPhase,
  shownPercent,
  shownRoute,
} from "./share_fixtures.ts";

Deno.test({
  name:
    "with relay-only ICE on both pages the transfer goes through a real coturn with HMAC credentials",
  ignore: !browserAvailable() || !coturnAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const secret = `sb-share-${crypto.randomUUID()}`;
    await using coturn = await startCoturn(secret);
    await using server = await startServer({
      env: {
        TURN_URLS: `turn:127.0.0.1:${coturn.port}?transport=udp`,
        TURN_SECRET: secret,
        // Long enough that only a TURN connection can explain success (not link mode).
        FALLBACK_TIMEOUT_MS: "45000",
      },
    });
    // TURN credentials only go to a session's sender or receiver (or a user), not to anyone.
    assert.equal((await request(`${server.url}/api/ice-servers`)).status, 401);

    const dir = await Deno.makeTempDir({ prefix: "switchboard-e2e-share-turn-" });
    const file = await randomFile(dir, "through-turn.bin", 6 * 1024 * 1024);
    const browser = await launchBrowser();
    try {
      const sender = await newPage(browser);
      await openSendPage(sender.page, server.url, "?ice=relay");
      const { link } = await createTransfer(sender.page, [file]);
      const receiver = await newPage(browser);
      // The receiver gets its ICE servers late, so the sender's relay candidate arrives
      // before the receiver's connection exists: it must be kept, or the receiver never
      // lets coturn forward the sender's packets and only link mode can finish.
      let receiverIce: { iceServers: { username?: string }[] } | null = null;
      await receiver.page.route((url) => url.pathname === "/api/ice-servers", async (route) => {
        // The late answer is the scenario under test, not a wait.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const response = await route.fetch();
        receiverIce = await response.json();
        await route.fulfill({ response });
      });
      await openReceivePage(receiver.page, link, "?ice=relay");
      await receiver.page.getByTestId("receive-accept").click();
      await receiverPhase(receiver.page, "done");
      await senderPhase(sender.page, "done");
      for (const side of [sender.page, receiver.page]) {
        assert.equal(await shownRoute(side), "turn", "the selected candidates are relay ones");
        assert.equal(await shownPercent(side), 100);
      }
      assert.match(await receiver.page.getByTestId("share-route").textContent() ?? "", /TURN/);
      const turn = receiverIce!.iceServers.find((entry) => entry.username);
      assert.match(turn?.username ?? "", /^\d+:/, "the page got time-limited HMAC credentials");
      assert.equal((await fileRows(receiver.page))[file.name]!.sha256, file.sha256);
      await saveAndCompare(receiver.page, file, dir);
      await screenshot(receiver.page, "share-receive-turn-desktop");
      assert.deepEqual(sender.errors, []);
      assert.deepEqual(receiver.errors, []);
    } catch (error) {
      throw new Error(`${error}\ncoturn log:\n${coturn.log().slice(-2000)}`, { cause: error });
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
