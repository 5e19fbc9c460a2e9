/**
 * Live transfers that survive real life (real Chromium): a data channel that
 * breaks midway reconnects by itself and goes on from the receiver's last
 * stored byte; a receive page reloaded midway does the same from its OPFS copy.
 * Either way the file ends byte-identical and less than a tenth of it moves twice.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { browserAvailable, launchBrowser } from "./browser.ts";
import { startServer } from "./harness.ts";
import {
  createTransfer,
  newPage,
  openReceivePage,
  openSendPage,
  progressAtLeast,
  randomFile,
  receiverPhase,
  saveAndCompare,
  senderPhase,
  shownRoute,
} from "./share_fixtures.ts";

const SIZE = 64 * 1024 * 1024;

/** Keeps every `RTCPeerConnection` the page makes in `window.peers`, so the test can break one. */
function keepPeers(): void {
  const Original = globalThis.RTCPeerConnection;
  const peers: RTCPeerConnection[] = [];
  Object.assign(globalThis, { peers });
  globalThis.RTCPeerConnection = class extends Original {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      peers.push(this);
    }
  };
}

/** File bytes the send page says left it over data channels. */
async function wireBytes(page: Page): Promise<number> {
  return Number(await page.getByTestId("live-share").getAttribute("data-wire-bytes"));
}

for (
  const breakWay of [
    {
      what: "the receiver's RTCPeerConnection is closed",
      name:
        "a data channel broken at ~50 % of 64 MiB reconnects by itself and resumes: byte-identical, under 10 % sent twice",
    },
    {
      what: "the receive page reloads",
      name:
        "a receive page reloaded at ~50 % of 64 MiB resumes from its OPFS copy: byte-identical, under 10 % sent twice",
    },
    {
      what: "the send page reloads",
      name:
        "a send page reloaded at ~50 % of 64 MiB resumes once the same file is picked again: byte-identical, under 10 % sent twice",
    },
  ]
) {
  Deno.test({
    name: breakWay.name,
    ignore: !browserAvailable(),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      // A long fallback timeout: the relay must not be what saves the transfer.
      await using server = await startServer({ env: { FALLBACK_TIMEOUT_MS: "45000" } });
      const dir = await Deno.makeTempDir({ prefix: "switchboard-e2e-share-resume-" });
      const file = await randomFile(dir, "big.bin", SIZE);
      const browser = await launchBrowser();
      try {
        const sender = await newPage(browser);
        await openSendPage(sender.page, server.url);
        const { link } = await createTransfer(sender.page, [file]);
        const receiver = await newPage(browser);
        await receiver.context.addInitScript(keepPeers);
        await openReceivePage(receiver.page, link);
        await receiver.page.getByTestId("receive-accept").click();
        await progressAtLeast(receiver.page, 45);
        // What the send page sent before a reload of its own (its count starts again after it).
        let sentBefore = 0;
        if (breakWay.what === "the receive page reloads") {
          await receiver.page.reload();
        } else if (breakWay.what === "the send page reloads") {
          sentBefore = await wireBytes(sender.page);
          await sender.page.reload();
          await sender.page.getByTestId("live-resume").waitFor();
          await sender.page.getByTestId("live-resume-input").setInputFiles(file.path);
        } else {
          await receiver.page.evaluate(() =>
            (globalThis as unknown as { peers: RTCPeerConnection[] }).peers.at(-1)!.close()
          );
        }
        await receiverPhase(receiver.page, "done");
        await senderPhase(sender.page, "done");
        assert.equal(await shownRoute(sender.page), "direct");
        const sent = sentBefore + await wireBytes(sender.page);
        const twice = sent - SIZE;
        // (After a send page reload, its count before it is the last one shown: up to 250 ms old.)
        console.log(`${breakWay.what}: ${sent} bytes sent, ${twice} twice`);
        assert.ok(twice < SIZE / 10, `${twice} bytes sent twice`);
        if (sentBefore > 0) {
          // The count from before the reload may be stale: the reloaded page's own count is exact,
          // and with the receiver past 45 % it must send only what is missing.
          const after = sent - sentBefore;
          assert.ok(after < SIZE * 0.6, `${after} bytes sent after the reload`);
        }
        await saveAndCompare(receiver.page, file, dir);
        assert.deepEqual(receiver.errors, []);
        assert.deepEqual(sender.errors, []);
      } finally {
        await browser.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
