/**
 * Verified pairing in two real Chromium pages: through the join link (with the
 * secret in its fragment) both pages say "Verified" and show the same words,
 * the file arrives byte-identical, and nothing either page sent to the server
 * (every WebSocket frame and HTTP request, captured) holds the secret, a file
 * name or the message in clear. A receiver who typed the code gets the same
 * words on both pages but no "Verified" (there is no secret to check them),
 * and nothing is sent until the sender's person confirms the words.
 */
import assert from "node:assert/strict";
import { browserAvailable, screenshot } from "./browser.ts";
import { generateKeyPair } from "../lib/file_share/pairing/mod.ts";
import {
  captureOutgoing,
  confirmWords,
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
  wordsToCompare,
} from "./share_fixtures.ts";

const MESSAGE = "meet at the blue door";

Deno.test({
  name:
    "through the link both pages say Verified with the same words, the file is byte-identical, and the server never sees the secret, names or message",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using setup = await shareScene({
      env: { FALLBACK_TIMEOUT_MS: "45000" },
      prefix: "switchboard-e2e-pairing-",
    });
    const { server, dir, browser } = setup;
    const file = await randomFile(dir, "tax-return-2026.bin", 256 * 1024);
    const sender = await newPage(browser);
    const receiver = await newPage(browser);
    const outgoing = [...[sender.page, receiver.page].map(captureOutgoing)];
    await openSendPage(sender.page, server.url);
    const { link } = await createTransfer(sender.page, [file], MESSAGE);
    const secret = new URL(link).hash.replace("#s=", "");

    await openReceivePage(receiver.page, link);
    await receiver.page.getByTestId("receive-review").waitFor();
    assert.deepEqual(Object.keys(await fileRows(receiver.page)).sort(), [
      "Message.txt",
      file.name,
    ]);
    await receiver.page.getByTestId("receive-accept").click();
    await receiverPhase(receiver.page, "done");
    await senderPhase(sender.page, "done", 20_000);

    const words: string[] = [];
    for (const side of [sender.page, receiver.page]) {
      await side.getByTestId("pairing-verified").waitFor();
      words.push((await side.getByTestId("pairing-sas").textContent()) ?? "");
      assert.match(
        (await side.getByTestId("pairing-check").textContent()) ?? "",
        /Both screens should show the same words/,
      );
    }
    assert.match(words[0]!, /^[a-z]+ [a-z]+ [a-z]+ [a-z]+$/);
    assert.equal(words[1], words[0], "both pages show the same words");
    await screenshot(sender.page, "share-live-verified-desktop");
    await screenshot(receiver.page, "share-receive-verified-desktop");

    await saveAndCompare(receiver.page, file, dir);
    assert.equal(await receiver.page.getByTestId("share-snippet").textContent(), MESSAGE);

    const sent = outgoing.flat().join("\n");
    assert.ok(sent.includes("pairing-key") && sent.includes("sealed-files"), "captured");
    for (const secretText of [secret, file.name, "tax-return", MESSAGE]) {
      assert.ok(!sent.includes(secretText), `the server never saw ${secretText}`);
    }
    assert.deepEqual(sender.errors, []);
    assert.deepEqual(receiver.errors, []);
  },
});

Deno.test({
  name:
    "a key exchange rewritten on the way (another public key in the receiver's pairing-key frame) is refused: a warning on both pages, no file list shown",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using setup = await shareScene({ prefix: "switchboard-e2e-pairing-" });
    const { server, dir, browser } = setup;
    const file = await randomFile(dir, "a.bin", 1000);
    const mallory = await generateKeyPair();
    const sender = await newPage(browser);
    const receiver = await newPage(browser);
    // Someone between the server and the receiver swaps the sender's public key for theirs.
    await receiver.page.routeWebSocket(/file-share-session/, (socket) => {
      const upstream = socket.connectToServer();
      socket.onMessage((message) => upstream.send(message));
      upstream.onMessage((message) => {
        const text = String(message);
        socket.send(
          text.includes('"pairing-key"')
            ? text.replace(/"publicKey":"[^"]+"/, `"publicKey":"${mallory.publicKey}"`)
            : text,
        );
      });
    });
    await openSendPage(sender.page, server.url);
    const { link } = await createTransfer(sender.page, [file]);
    await openReceivePage(receiver.page, link);
    await receiver.page.waitForSelector(
      '[data-testid="receive"][data-problem="pairing_mismatch"]',
    );
    await receiver.page.getByTestId("pairing-mismatch").waitFor();
    await screenshot(receiver.page, "share-receive-mismatch-desktop");
    assert.equal(await receiver.page.getByTestId("receive-review").count(), 0);
    await senderPhase(sender.page, "canceled");
    assert.match(
      (await sender.page.getByTestId("live-canceled").textContent()) ?? "",
      /Verification failed/,
    );
  },
});

Deno.test({
  name:
    "a receiver who typed the code (no fragment) sees the same words as the sender, neither page says Verified, and the file arrives",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using setup = await shareScene({ prefix: "switchboard-e2e-pairing-" });
    const { server, dir, browser } = setup;
    const file = await randomFile(dir, "typed.bin", 64 * 1024);
    const sender = await newPage(browser);
    const receiver = await newPage(browser);
    await openSendPage(sender.page, server.url);
    const { code } = await createTransfer(sender.page, [file]);
    // What a person types: the code alone, so the page has no secret.
    await openReceivePage(receiver.page, `${server.url}/r/${code}`);
    await receiver.page.getByTestId("receive-accept").click();
    // Nothing moves until the sender's person confirms the words.
    const words = await wordsToCompare(sender.page, receiver.page);
    assert.match(words[0], /^[a-z]+ [a-z]+ [a-z]+ [a-z]+$/);
    assert.equal(words[1], words[0], "both pages show the same words");
    assert.match(
      (await sender.page.getByTestId("pairing-confirm-words").textContent()) ?? "",
      /If you sent the link, the receiver should have been verified automatically/,
    );
    await screenshot(receiver.page, "share-receive-compare-words-desktop");
    await confirmWords(sender.page);
    await receiverPhase(receiver.page, "done");
    await senderPhase(sender.page, "done");
    for (const side of [sender.page, receiver.page]) {
      const check = side.getByTestId("pairing-check");
      assert.equal(await check.getAttribute("data-pairing"), "compare");
      assert.equal(await side.getByTestId("pairing-verified").count(), 0, "no Verified");
      assert.match((await check.textContent()) ?? "", /Compare them with the other person/);
    }
    await saveAndCompare(receiver.page, file, dir);
    assert.deepEqual(sender.errors, []);
    assert.deepEqual(receiver.errors, []);
  },
});
