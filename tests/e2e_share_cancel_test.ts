import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { browserAvailable, screenshot } from "./browser.ts";
import {
  confirmWords,
  createTransfer,
  newPage,
  openReceivePage,
  openSendPage,
  progressAtLeast,
  randomFile,
  receiverPhase,
  senderPhase,
  shareScene,
  shownPercent,
} from "./share_fixtures.ts";

/** Types `typed` into the receive page's code form and waits for `/r/<code>`, hydrated. */
async function typeCode(page: Page, origin: string, typed: string, code: string): Promise<void> {
  await page.getByTestId("receive-code-input").fill(typed);
  await page.getByTestId("receive-code-submit").click();
  await page.waitForURL(`${origin}/r/${code}`);
  await page.waitForSelector('[data-island="ReceiveFiles"][data-hydrated="true"]');
}

/** Both pages end canceled, and the send page says why. */
async function bothCanceled(sender: Page, receiver: Page, why: RegExp): Promise<void> {
  await receiverPhase(receiver, "canceled", 15_000);
  await senderPhase(sender, "canceled", 15_000);
  assert.match(await sender.getByTestId("live-canceled").textContent() ?? "", why);
}

Deno.test({
  name:
    "either side can cancel mid-transfer (or decline): both pages show it, and both can start over with a new transfer",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using setup = await shareScene({
      env: { FALLBACK_TIMEOUT_MS: "45000" },
      prefix: "switchboard-e2e-share-cancel-",
    });
    const { server, dir, browser } = setup;
    // Large enough that the transfer is still running when the cancel is clicked.
    const file = await randomFile(dir, "large.bin", 96 * 1024 * 1024);
    const sender = await newPage(browser);
    const receiver = await newPage(browser);
    await openSendPage(sender.page, server.url);
    const first = await createTransfer(sender.page, [file]);
    await openReceivePage(receiver.page, first.link);
    await receiver.page.getByTestId("receive-accept").click();

    // 1. The sender cancels mid-transfer.
    await progressAtLeast(receiver.page, 1);
    await sender.page.getByTestId("live-cancel").click();
    await senderPhase(sender.page, "canceled", 15_000);
    await receiverPhase(receiver.page, "canceled", 15_000);
    assert.ok(await shownPercent(receiver.page) < 100, "it stopped before the end");
    assert.match(
      await receiver.page.getByTestId("receive-canceled").textContent() ?? "",
      /Canceled by the sender/,
    );
    assert.match(
      await sender.page.getByTestId("live-canceled").textContent() ?? "",
      /You canceled/,
    );
    await screenshot(receiver.page, "share-receive-canceled-desktop");

    // 2. Both start over: the sender keeps its files and makes a new code; the receiver
    // enters that code in the box its canceled page shows.
    await sender.page.getByTestId("live-start-over").click();
    await senderPhase(sender.page, "idle");
    assert.match(await sender.page.getByTestId("live-picked").textContent() ?? "", /large\.bin/);
    await sender.page.getByTestId("live-start").click();
    const code = (await sender.page.getByTestId("live-code").textContent({ timeout: 15_000 }))!;
    assert.notEqual(code, first.code);
    await typeCode(receiver.page, server.url, code.toLowerCase(), code);
    await receiver.page.getByTestId("receive-accept").click();
    // A typed code has no secret: the sender confirms the words before anything is sent.
    await confirmWords(sender.page);

    // 3. Now the receiver cancels mid-transfer.
    await progressAtLeast(sender.page, 1);
    await receiver.page.getByTestId("receive-cancel").click();
    await bothCanceled(sender.page, receiver.page, /Canceled by the receiver/);
    assert.ok(await shownPercent(sender.page) < 100);
    await screenshot(sender.page, "share-live-canceled-desktop");

    // 4. And both can go again; this time the receiver declines before anything is sent.
    await sender.page.getByTestId("live-start-over").click();
    await senderPhase(sender.page, "idle");
    await sender.page.getByTestId("live-start").click();
    const third = (await sender.page.getByTestId("live-code").textContent({ timeout: 15_000 }))!;
    await typeCode(receiver.page, server.url, third, third);
    await receiver.page.getByTestId("receive-decline").click();
    await bothCanceled(sender.page, receiver.page, /Declined by the receiver/);

    assert.deepEqual(sender.errors, []);
    assert.deepEqual(receiver.errors, []);
  },
});
