import assert from "node:assert/strict";
import { browserAvailable, screenshot } from "./browser.ts";
import {
  captureOutgoing,
  createTransfer,
  fileRows,
  newPage,
  openReceivePage,
  openSendPage,
  randomFile,
  receiverPhase,
  saveAndCompare,
  senderPhase,
  shareScene,
  shownPercent,
  shownRoute,
} from "./share_fixtures.ts";

Deno.test({
  name:
    "a sender whose ICE cannot work falls back to link mode by itself: the receiver gets byte-identical files through the relay",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // No TURN server is configured, and `?ice=relay` allows only TURN candidates on the
    // sender: it has none, so no direct connection can form and the timeout must fire.
    await using setup = await shareScene({
      env: { FALLBACK_TIMEOUT_MS: "2500" },
      prefix: "switchboard-e2e-share-fallback-",
    });
    const { server, dir, browser } = setup;
    const big = await randomFile(dir, "dataset.bin", 8 * 1024 * 1024 + 5);
    const small = await randomFile(dir, "readme.txt", 777);
    const sender = await newPage(browser);
    const outgoing = captureOutgoing(sender.page);
    await openSendPage(sender.page, server.url, "?ice=relay");
    const { link } = await createTransfer(sender.page, [big, small]);
    const receiver = await newPage(browser, 390);
    outgoing.push(...captureOutgoing(receiver.page));
    await openReceivePage(receiver.page, link);
    await receiver.page.getByTestId("receive-accept").click();

    // Both pages say the relay is used, with no action on the receiver's side.
    await receiver.page.waitForSelector('[data-testid="share-route"][data-route="relay"]');
    await sender.page.waitForSelector('[data-testid="share-route"][data-route="relay"]');
    await receiverPhase(receiver.page, "done");
    await senderPhase(sender.page, "done");
    assert.match(
      await sender.page.getByTestId("share-route").textContent() ?? "",
      /Using the relay.*did not connect in time/s,
    );
    assert.match(
      await receiver.page.getByTestId("share-route").textContent() ?? "",
      /Using the relay/,
    );
    for (const side of [sender.page, receiver.page]) {
      assert.equal(await shownRoute(side), "relay");
      assert.equal(await shownPercent(side), 100);
    }
    const received = await fileRows(receiver.page);
    assert.equal(received[big.name]!.status, "verified");
    assert.equal(received[big.name]!.sha256, big.sha256);
    assert.equal(received[small.name]!.sha256, small.sha256);

    // The sender sees the receiver fetch each upload.
    await sender.page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="share-file"]')]
        .every((row) => row.getAttribute("data-status") === "downloaded")
    );
    await screenshot(sender.page, "share-live-relay-desktop");
    await screenshot(receiver.page, "share-receive-relay-phone");

    await saveAndCompare(receiver.page, big, dir);
    await saveAndCompare(receiver.page, small, dir);

    // The relay copies' keys come from the pages' pairing: no frame or request the server
    // saw holds a key, the link's secret or a file name.
    const sent = outgoing.join("\n");
    const links = [...sent.matchAll(/"fallback-link","url":"([^"]+)"/g)].map((match) => match[1]!);
    assert.equal(links.length, 2, sent.slice(0, 200));
    for (const url of links) assert.doesNotMatch(url, /[#&]k=/);
    const secret = new URL(link).hash.replace("#s=", "");
    for (const secretText of [secret, "dataset", "readme"]) {
      assert.ok(!sent.includes(secretText), `the server never saw ${secretText}`);
    }
    assert.deepEqual(sender.errors, []);
    assert.deepEqual(receiver.errors, []);
  },
});

Deno.test({
  name:
    "when the relay cannot take a file either, both pages say why instead of waiting, and Retry starts a new transfer",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using setup = await shareScene({
      env: { FALLBACK_TIMEOUT_MS: "2000", MAX_UPLOAD_BYTES: String(1024 * 1024) },
      prefix: "switchboard-e2e-share-toolarge-",
    });
    const { server, dir, browser } = setup;
    const file = await randomFile(dir, "too-big-for-the-relay.bin", 2 * 1024 * 1024);
    const sender = await newPage(browser);
    await openSendPage(sender.page, server.url, "?ice=relay");
    const first = await createTransfer(sender.page, [file]);
    const receiver = await newPage(browser);
    await openReceivePage(receiver.page, first.link);
    await receiver.page.getByTestId("receive-accept").click();
    await senderPhase(sender.page, "failed", 30_000);
    await receiverPhase(receiver.page, "canceled", 30_000);
    const why = /too-big-for-the-relay\.bin" is larger than the relay's limit of 1\.0 MB/;
    assert.match(await sender.page.getByTestId("live-failed").textContent() ?? "", why);
    assert.match(await receiver.page.getByTestId("receive-canceled").textContent() ?? "", why);
    await screenshot(sender.page, "share-live-failed-desktop");

    // Retry: the session is closed, so the page makes a new one with the same files.
    await sender.page.getByTestId("live-retry").click();
    await sender.page.waitForFunction(
      (old) => {
        const code = document.querySelector('[data-testid="live-code"]')?.textContent;
        return code && code !== old;
      },
      first.code,
    );
    assert.match(await sender.page.getByTestId("live-share").textContent() ?? "", /too-big/);
    assert.deepEqual(sender.errors, []);
    assert.deepEqual(receiver.errors, []);
  },
});
