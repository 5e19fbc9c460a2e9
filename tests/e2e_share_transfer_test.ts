import assert from "node:assert/strict";
import { browserAvailable, screenshot } from "./browser.ts";
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
  shareScene,
  shownPercent,
  shownRoute,
} from "./share_fixtures.ts";

const MESSAGE = "The door code is 4711 🔑";

Deno.test({
  name:
    "two files (16 MiB random and a small one) and a message go browser to browser, verified by SHA-256 on both pages",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // A long fallback timeout: this test must prove the direct path, never the relay.
    await using setup = await shareScene({
      env: { FALLBACK_TIMEOUT_MS: "45000" },
      prefix: "switchboard-e2e-share-",
    });
    const { server, dir, browser } = setup;
    // 16 MiB: eight times the sender's stored window (2 MiB) and many 1 MiB reads; large files
    // are the benchmark's job (bench/share.ts sends 1 GiB).
    const big = await randomFile(dir, "holiday video.bin", 16 * 1024 * 1024);
    const small = await randomFile(dir, "notes ✓.txt", 3000);
    const sender = await newPage(browser);
    await openSendPage(sender.page, server.url);
    await screenshot(sender.page, "share-live-desktop");
    await sender.page.setViewportSize({ width: 390, height: 844 });
    await screenshot(sender.page, "share-live-phone");
    await sender.page.setViewportSize({ width: 1280, height: 860 });

    const { code, link } = await createTransfer(sender.page, [big, small], MESSAGE);
    const qrPath = await sender.page.locator('[data-testid="share-qr"] path').getAttribute("d");
    assert.ok(qrPath && qrPath.length > 500, "a QR code of the link is drawn");
    assert.equal(
      await sender.page.getByTestId("live-peer").getAttribute("data-peer"),
      "waiting",
    );
    await screenshot(sender.page, "share-live-waiting-desktop");

    // The receiver opens the link and sees the files before accepting.
    const receiver = await newPage(browser);
    await openReceivePage(receiver.page, link);
    await receiver.page.getByTestId("receive-review").waitFor();
    assert.equal(await receiver.page.getByTestId("receive-code").textContent(), code);
    const listed = await fileRows(receiver.page);
    assert.deepEqual(Object.keys(listed).sort(), [big.name, "Message.txt", small.name].sort());
    await sender.page.waitForSelector('[data-testid="live-peer"][data-peer="joined"]');

    // A reload before the transfer starts rejoins with the token kept in sessionStorage
    // (joining again would be refused: the code was used).
    await receiver.page.reload();
    await receiver.page.waitForSelector('[data-island="ReceiveFiles"][data-hydrated="true"]');
    await receiver.page.getByTestId("receive-review").waitFor();

    // Anyone else opening the same link is told it was already joined.
    const intruder = await newPage(browser, 390);
    await openReceivePage(intruder.page, link);
    await intruder.page.waitForSelector(
      '[data-testid="receive"][data-problem="session_already_joined"]',
    );
    assert.match(
      await intruder.page.getByTestId("receive-problem").textContent() ?? "",
      /Already joined/,
    );
    await screenshot(intruder.page, "share-receive-already-joined-phone");

    await screenshot(receiver.page, "share-receive-desktop");
    await receiver.page.setViewportSize({ width: 390, height: 844 });
    await screenshot(receiver.page, "share-receive-phone");
    await receiver.page.setViewportSize({ width: 1280, height: 860 });

    await receiver.page.getByTestId("receive-accept").click();
    await receiverPhase(receiver.page, "transferring");
    await senderPhase(sender.page, "transferring");
    await screenshot(sender.page, "share-live-transferring-desktop");
    await receiverPhase(receiver.page, "done");
    await senderPhase(sender.page, "done", 20_000);

    for (const side of [sender.page, receiver.page]) {
      assert.equal(await shownPercent(side), 100);
      assert.equal(await shownRoute(side), "direct", "peer to peer, not the relay");
    }
    const sent = await fileRows(sender.page);
    assert.deepEqual(
      Object.values(sent).map((row) => row.status),
      ["verified", "verified", "verified"],
      "the receiver acknowledged every file",
    );
    const received = await fileRows(receiver.page);
    assert.equal(received[big.name]!.status, "verified");
    assert.equal(received[big.name]!.sha256, big.sha256, "the page computed the same SHA-256");
    assert.equal(received[small.name]!.sha256, small.sha256);
    assert.equal(await receiver.page.getByTestId("share-snippet").textContent(), MESSAGE);
    await screenshot(receiver.page, "share-receive-done-desktop");
    await screenshot(sender.page, "share-live-done-desktop");
    await receiver.page.setViewportSize({ width: 390, height: 844 });
    await screenshot(receiver.page, "share-receive-done-phone");
    await sender.page.setViewportSize({ width: 390, height: 844 });
    await screenshot(sender.page, "share-live-done-phone");

    // The saved files are byte-identical.
    await saveAndCompare(receiver.page, big, dir);
    await saveAndCompare(receiver.page, small, dir);

    assert.deepEqual(sender.errors, []);
    assert.deepEqual(receiver.errors, []);
    assert.deepEqual(
      intruder.errors.filter((error) => !/status of 409/.test(error)),
      [],
      "only the refused join itself is logged",
    );
  },
});

Deno.test({
  name:
    "a receiver whose browser is slow right after the channel opens still gets the manifest (nothing sent early is lost)",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using setup = await shareScene({
      env: { FALLBACK_TIMEOUT_MS: "45000" },
      prefix: "switchboard-e2e-share-slow-",
    });
    const { server, dir, browser } = setup;
    const file = await randomFile(dir, "early.bin", 2 * 1024 * 1024);
    const sender = await newPage(browser);
    await openSendPage(sender.page, server.url);
    const { link } = await createTransfer(sender.page, [file]);
    const receiver = await newPage(browser);
    // A busy machine: the receiver's getStats() (the route shown on the page) answers late,
    // while the sender starts sending at once.
    await receiver.page.addInitScript(() => {
      const original = RTCPeerConnection.prototype.getStats;
      RTCPeerConnection.prototype.getStats = function (this: RTCPeerConnection) {
        // The late answer is the scenario under test, not a wait.
        return new Promise((resolve) => setTimeout(resolve, 1500))
          .then(() => original.call(this));
      } as typeof original;
    });
    await openReceivePage(receiver.page, link);
    await receiver.page.getByTestId("receive-accept").click();
    await receiverPhase(receiver.page, "done", 30_000);
    await senderPhase(sender.page, "done", 30_000);
    assert.equal((await fileRows(receiver.page))[file.name]!.sha256, file.sha256);
    assert.equal(await shownRoute(receiver.page), "direct");
    assert.deepEqual(sender.errors, []);
    assert.deepEqual(receiver.errors, []);
  },
});
