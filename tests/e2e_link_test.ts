import assert from "node:assert/strict";
import { browserAvailable, launchBrowser, screenshot, watchConsole } from "./browser.ts";
import { request, startServer } from "./harness.ts";
import { hashBody, sha256Hex } from "./link_fixtures.ts";

const FILE_NAME = "Quarterly report 📈.bin";
const FILE_SIZE = 5 * 1024 * 1024 + 777;

Deno.test({
  name: "a file encrypted on /share downloads and decrypts byte-identical in a second browser",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startServer({ env: { UPLOADS_PER_HOUR: "1000" } });
    const dir = await Deno.makeTempDir({ prefix: "switchboard-e2e-link-" });
    const bytes = new Uint8Array(FILE_SIZE);
    for (let offset = 0; offset < bytes.length; offset += 65536) {
      crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
    }
    const path = `${dir}/${FILE_NAME}`;
    await Deno.writeFile(path, bytes);
    const browser = await launchBrowser();
    try {
      // The sender.
      const sender = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      const share = await sender.newPage();
      const shareErrors = watchConsole(share);
      await share.goto(`${server.url}/share#link`);
      await share.waitForSelector('[data-island="LinkShare"][data-hydrated="true"]');
      await screenshot(share, "link-share-desktop");
      assert.equal(await share.getByTestId("link-encrypt").isChecked(), true, "encryption is on");
      await share.getByTestId("link-file-input").setInputFiles(path);
      assert.equal(await share.getByTestId("link-file-name").textContent(), FILE_NAME);
      await share.getByTestId("link-submit").click();
      const linkInput = share.getByTestId("link-url");
      await linkInput.waitFor({ timeout: 60_000 });
      const link = await linkInput.inputValue();
      const match = new RegExp(`^${server.url}/d/([A-Za-z0-9_-]{22})#k=[A-Za-z0-9_-]{43}$`)
        .exec(link);
      assert.ok(match, link);
      const id = match[1]!;
      await screenshot(share, "link-share-done-desktop");
      await share.setViewportSize({ width: 390, height: 844 });
      await screenshot(share, "link-share-done-phone");

      // The server holds ciphertext under an opaque name.
      const info = await request(`${server.url}/api/files/${id}`);
      assert.equal(info.body.encrypted, true);
      assert.equal(info.body.name, "encrypted.bin");
      assert.ok(info.body.size > FILE_SIZE);
      const stored = await hashBody((await fetch(`${server.url}/api/download/${id}`)).body);
      assert.notEqual(stored.sha256, sha256Hex(bytes), "the stored bytes differ from the file");
      assert.equal(stored.size, info.body.size);

      // The recipient, in a separate context: no shared storage with the sender.
      const recipient = await browser.newContext({
        acceptDownloads: true,
        viewport: { width: 1280, height: 860 },
      });
      const download = await recipient.newPage();
      const downloadErrors = watchConsole(download);
      await download.goto(link);
      await download.waitForSelector('[data-island="DownloadFile"][data-hydrated="true"]');
      await download.waitForFunction(
        (name) => document.querySelector('[data-testid="download-name"]')?.textContent === name,
        FILE_NAME,
      );
      assert.match(await download.getByTestId("download-size").textContent() ?? "", /^5\.0 MB/);
      await screenshot(download, "link-download-desktop");
      const [saved] = await Promise.all([
        download.waitForEvent("download", { timeout: 60_000 }),
        download.getByTestId("download-button").click(),
      ]);
      assert.equal(saved.suggestedFilename(), FILE_NAME);
      const savedPath = `${dir}/saved.bin`;
      await saved.saveAs(savedPath);
      assert.equal(sha256Hex(await Deno.readFile(savedPath)), sha256Hex(bytes));
      await download.getByTestId("download-status").waitFor();
      await screenshot(download, "link-download-done-desktop");
      await download.setViewportSize({ width: 390, height: 844 });
      await screenshot(download, "link-download-phone");

      // Without the fragment there is no key: the page says so and offers no download.
      const keyless = await recipient.newPage();
      const keylessErrors = watchConsole(keyless);
      await keyless.goto(`${server.url}/d/${id}`);
      await keyless.getByText("missing its key").waitFor();
      assert.equal(await keyless.getByTestId("download-button").isDisabled(), true);

      assert.deepEqual(shareErrors, []);
      assert.deepEqual(downloadErrors, []);
      assert.deepEqual(keylessErrors, []);
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
