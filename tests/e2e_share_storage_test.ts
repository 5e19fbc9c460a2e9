/**
 * Where a receive page keeps the bytes (real Chromium): files written into the
 * Origin Private File System as they arrive, "Save all" as one zip, stale files
 * swept on load, and a transfer larger than the granted storage refused before
 * it starts.
 */
import assert from "node:assert/strict";
import { unzipSync } from "fflate";
import { browserAvailable } from "./browser.ts";
import { sha256Hex } from "./link_fixtures.ts";
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
} from "./share_fixtures.ts";

/** Names of the files in the page's OPFS receive folder. */
function opfsNames(): Promise<string[]> {
  return (async () => {
    const root = await navigator.storage.getDirectory();
    const folder = await root.getDirectoryHandle("switchboard-received", { create: true });
    const names: string[] = [];
    for await (const name of (folder as unknown as { keys(): AsyncIterable<string> }).keys()) {
      names.push(name);
    }
    return names;
  })();
}

Deno.test({
  name:
    "received files go to the OPFS, stale ones are swept on load, and Save all gives one zip of byte-identical entries",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using setup = await shareScene({
      env: { FALLBACK_TIMEOUT_MS: "45000" },
      prefix: "switchboard-e2e-share-storage-",
    });
    const { server, dir, browser } = setup;
    const files = [
      await randomFile(dir, "a.bin", 200_000),
      await randomFile(dir, "b ✓.txt", 3000),
      await randomFile(dir, "c.dat", 70_000),
    ];
    const sender = await newPage(browser);
    await openSendPage(sender.page, server.url);
    const { link } = await createTransfer(sender.page, files);

    const receiver = await newPage(browser);
    // A file some page left behind two days ago (the name carries when it was made).
    await receiver.page.goto(`${server.url}/share`);
    const stale = `${Date.now() - 2 * 86_400_000}-0ld0ld00-0`;
    await receiver.page.evaluate(async (name) => {
      const root = await navigator.storage.getDirectory();
      const folder = await root.getDirectoryHandle("switchboard-received", { create: true });
      await folder.getFileHandle(name, { create: true });
    }, stale);
    assert.deepEqual(await receiver.page.evaluate(opfsNames), [stale]);

    await openReceivePage(receiver.page, link);
    await receiver.page.waitForSelector('[data-testid="receive"][data-storage="disk"]');
    const space = receiver.page.getByTestId("receive-space");
    assert.match(await space.textContent() ?? "", /available/);
    assert.ok(Number(await space.getAttribute("data-available")) > 1_000_000);
    await receiver.page.waitForFunction(opfsNames.toString() + "().then((n) => n.length === 0)");

    await receiver.page.getByTestId("receive-accept").click();
    await receiverPhase(receiver.page, "done");
    await senderPhase(sender.page, "done", 20_000);
    const rows = await fileRows(receiver.page);
    for (const file of files) assert.equal(rows[file.name]?.sha256, file.sha256);
    // Each file is on disk in the OPFS, not in memory.
    assert.equal((await receiver.page.evaluate(opfsNames)).length, 3);

    // A single file still saves on its own, from its OPFS copy.
    await saveAndCompare(receiver.page, files[1]!, dir);

    // Save all: one download, a zip of the three files.
    let downloads = 0;
    receiver.page.on("download", () => downloads++);
    const [download] = await Promise.all([
      receiver.page.waitForEvent("download"),
      receiver.page.getByTestId("receive-save-all").click(),
    ]);
    assert.match(download.suggestedFilename(), /^switchboard-[A-Z0-9]{6}\.zip$/);
    const path = `${dir}/all.zip`;
    await download.saveAs(path);
    const entries = unzipSync(await Deno.readFile(path));
    assert.deepEqual(Object.keys(entries).sort(), files.map((file) => file.name).sort());
    for (const file of files) {
      assert.equal(sha256Hex(entries[file.name]!), file.sha256, `${file.name} byte-identical`);
    }
    await receiver.page.getByTestId("receive-save-all").waitFor({ state: "visible" });
    assert.equal(downloads, 1, "one download for all files");
    assert.deepEqual(receiver.errors, []);
    assert.deepEqual(sender.errors, []);
  },
});

Deno.test({
  name:
    "a transfer larger than the storage the browser grants is refused on the receive page, with both sizes, before it starts",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using setup = await shareScene({
      env: { FALLBACK_TIMEOUT_MS: "45000" },
      prefix: "switchboard-e2e-share-quota-",
    });
    const { server, dir, browser } = setup;
    const file = await randomFile(dir, "too big.bin", 3 * 1024 * 1024);
    const sender = await newPage(browser);
    await openSendPage(sender.page, server.url);
    const { link } = await createTransfer(sender.page, [file]);
    const receiver = await newPage(browser);
    // A browser that grants this site 1 MiB. CDP's Storage.overrideQuotaForOrigin would be
    // the real thing, but in this Chromium (headless, incognito or persistent context,
    // page or browser session) it leaves estimate() unchanged; so the estimate is replaced.
    await receiver.page.addInitScript(() => {
      StorageManager.prototype.estimate = () =>
        Promise.resolve({ quota: 1024 * 1024, usage: 0 } as StorageEstimate);
    });
    await openReceivePage(receiver.page, link);
    const refusal = receiver.page.getByTestId("receive-no-space");
    await refusal.waitFor();
    const text = await refusal.textContent() ?? "";
    assert.match(text, /Not enough space/);
    assert.match(text, /need 3\.0 MB/, "the transfer's size");
    assert.match(text, /only 1\.0 MB/, "the space granted");
    assert.equal(await receiver.page.getByTestId("receive-accept").count(), 0, "no Accept");
    assert.equal(
      await receiver.page.getByTestId("receive").getAttribute("data-phase"),
      "signaling",
      "nothing started",
    );
    assert.equal(
      await sender.page.getByTestId("live-share").getAttribute("data-phase"),
      "signaling",
      "the sender is still waiting",
    );
    // Declining still works, and the sender learns of it.
    await receiver.page.getByTestId("receive-decline").click();
    await senderPhase(sender.page, "canceled");
    assert.deepEqual(receiver.errors, []);
  },
});

Deno.test({
  name:
    "a browser without OPFS is warned, with the size, that the files stay in memory, and still receives them",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using setup = await shareScene({
      env: { FALLBACK_TIMEOUT_MS: "45000" },
      prefix: "switchboard-e2e-share-memory-",
    });
    const { server, dir, browser } = setup;
    const file = await randomFile(dir, "in memory.bin", 300_000);
    const sender = await newPage(browser);
    await openSendPage(sender.page, server.url);
    const { link } = await createTransfer(sender.page, [file]);
    const receiver = await newPage(browser);
    // Like a Firefox private window: no OPFS.
    await receiver.page.addInitScript(() => {
      delete (StorageManager.prototype as { getDirectory?: unknown }).getDirectory;
    });
    await openReceivePage(receiver.page, link);
    await receiver.page.waitForSelector('[data-testid="receive"][data-storage="memory"]');
    const warning = await receiver.page.getByTestId("receive-memory-warning").textContent();
    assert.match(warning ?? "", /293 KB will be kept in memory/);
    await receiver.page.getByTestId("receive-accept").click();
    await receiverPhase(receiver.page, "done");
    await saveAndCompare(receiver.page, file, dir);
    assert.deepEqual(receiver.errors, []);
  },
});
