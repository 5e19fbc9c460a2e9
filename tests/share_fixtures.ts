/**
 * @module
 * Helpers for the live file-share browser tests (tests/e2e_share_*_test.ts):
 * random files on disk, driving the send page (`/share`) and the receive page
 * (`/r/:code`), and saving received files through real browser downloads.
 */
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { sha256Hex } from "./link_fixtures.ts";
import { launchBrowser, watchConsole } from "./browser.ts";
import { startServer, type TestServer } from "./harness.ts";

/** A file written for a test. */
export interface TestFile {
  path: string;
  name: string;
  size: number;
  sha256: string;
}

/** Writes `size` random bytes to `dir/name`. */
export async function randomFile(dir: string, name: string, size: number): Promise<TestFile> {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  }
  const path = `${dir}/${name}`;
  await Deno.writeFile(path, bytes);
  return { path, name, size, sha256: sha256Hex(bytes) };
}

/** A page with its console errors collected. */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  errors: string[];
}

/** A new context (no shared storage with others) and page at `width`. */
export async function newPage(browser: Browser, width = 1280): Promise<WatchedPage> {
  const context = await browser.newContext({
    acceptDownloads: true,
    viewport: { width, height: width < 600 ? 844 : 860 },
  });
  const page = await context.newPage();
  return { page, context, errors: watchConsole(page) };
}

/** Opens `/share` (live tab) and waits for the island. */
export async function openSendPage(page: Page, baseUrl: string, query = ""): Promise<void> {
  await page.goto(`${baseUrl}/share${query}`);
  await page.waitForSelector('[data-island="ShareLive"][data-hydrated="true"]');
}

/** Picks files (and a message), creates the transfer; returns the code and join link. */
export async function createTransfer(
  page: Page,
  files: TestFile[],
  message = "",
): Promise<{ code: string; link: string }> {
  await page.getByTestId("live-file-input").setInputFiles(files.map((file) => file.path));
  if (message) await page.getByTestId("live-snippet").fill(message);
  await page.getByTestId("live-start").click();
  const link = await page.getByTestId("live-link").inputValue({ timeout: 15_000 });
  const code = (await page.getByTestId("live-code").textContent())!;
  assert.match(code, /^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{6}$/);
  // The join link carries the pairing secret in its fragment (never sent to the server).
  assert.match(link, new RegExp(`/r/${code}#s=[A-Za-z0-9_-]{22}$`));
  return { code, link };
}

/** Opens a join link (plus `query`) and waits for the island. */
export async function openReceivePage(page: Page, link: string, query = ""): Promise<void> {
  // The query goes before the fragment (the link's pairing secret).
  const url = new URL(link);
  url.search = query;
  await page.goto(url.href);
  await page.waitForSelector('[data-island="ReceiveFiles"][data-hydrated="true"]');
}

/** What a share browser test runs against: a server, a temp folder for its files, a browser. */
export interface ShareScene extends AsyncDisposable {
  server: TestServer;
  dir: string;
  browser: Browser;
}

/**
 * Starts a server (with `env`), makes a temp folder and launches a browser;
 * disposing closes the browser, removes the folder and stops the server.
 */
export async function shareScene(
  options: { env?: Record<string, string>; prefix?: string } = {},
): Promise<ShareScene> {
  const server = await startServer({ env: options.env });
  const dir = await Deno.makeTempDir({ prefix: options.prefix ?? "switchboard-e2e-share-" });
  const browser = await launchBrowser();
  return {
    server,
    dir,
    browser,
    async [Symbol.asyncDispose]() {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
      await server[Symbol.asyncDispose]();
    },
  };
}

/** Waits until the send page is in `phase`. */
export async function senderPhase(page: Page, phase: string, timeout = 60_000): Promise<void> {
  await page.waitForSelector(`[data-testid="live-share"][data-phase="${phase}"]`, { timeout });
}

/** Waits until the receive page is in `phase`. */
export async function receiverPhase(page: Page, phase: string, timeout = 60_000): Promise<void> {
  await page.waitForSelector(`[data-testid="receive"][data-phase="${phase}"]`, { timeout });
}

/**
 * The words both pages show once the sender's page asks to compare them (a
 * receiver without the link's secret), and the receiver's page waiting for
 * that: `[sender's words, receiver's words]`. Nothing is sent yet.
 */
export async function wordsToCompare(sender: Page, receiver: Page): Promise<[string, string]> {
  await sender.getByTestId("pairing-words-match").waitFor({ timeout: 60_000 });
  await receiver.getByTestId("pairing-waiting-words").waitFor({ timeout: 60_000 });
  return [
    (await sender.getByTestId("pairing-sas").textContent()) ?? "",
    (await receiver.getByTestId("pairing-sas").textContent()) ?? "",
  ];
}

/** The sender's person confirms that the words match ("The words match — send"). */
export async function confirmWords(sender: Page): Promise<void> {
  await sender.getByTestId("pairing-words-match").click({ timeout: 60_000 });
}

/** The total percent a page shows. */
export async function shownPercent(page: Page): Promise<number> {
  return Number(await page.getByTestId("share-progress").getAttribute("data-percent"));
}

/** Waits until a page shows at least `percent` total progress. */
export async function progressAtLeast(page: Page, percent: number, timeout = 60_000) {
  await page.waitForFunction(
    (min) =>
      Number(
        document.querySelector('[data-testid="share-progress"]')?.getAttribute("data-percent") ??
          -1,
      ) >= min,
    percent,
    { timeout },
  );
}

/** The route a page says it uses: "direct", "turn" or "relay". */
export async function shownRoute(page: Page): Promise<string | null> {
  return await page.getByTestId("share-route").getAttribute("data-route");
}

/** Status and page-computed SHA-256 of each file row, by name. */
export async function fileRows(
  page: Page,
): Promise<Record<string, { status: string; sha256: string | null }>> {
  return await page.$$eval(
    '[data-testid="share-file"]',
    (rows) =>
      Object.fromEntries(rows.map((row) => [
        row.getAttribute("data-name"),
        { status: row.getAttribute("data-status"), sha256: row.getAttribute("data-sha256") },
      ])),
  );
}

/** Clicks the file's Save button and returns the SHA-256 and size of what the browser saved. */
export async function saveAndHash(
  page: Page,
  name: string,
  dir: string,
): Promise<{ sha256: string; size: number; suggested: string }> {
  const row = page.locator(`[data-testid="share-file"][data-name="${name}"]`);
  const [download] = await Promise.all([
    page.waitForEvent("download", { timeout: 60_000 }),
    row.getByTestId("share-save").click(),
  ]);
  const path = `${dir}/saved-${crypto.randomUUID()}`;
  await download.saveAs(path);
  const bytes = await Deno.readFile(path);
  await Deno.remove(path);
  return {
    sha256: sha256Hex(bytes),
    size: bytes.byteLength,
    suggested: download.suggestedFilename(),
  };
}

/** Saves `file` from the receive page and asserts the browser saved it byte-identical, under its name. */
export async function saveAndCompare(page: Page, file: TestFile, dir: string): Promise<void> {
  const saved = await saveAndHash(page, file.name, dir);
  assert.deepEqual(saved, { sha256: file.sha256, size: file.size, suggested: file.name });
}

/** Everything `page` sends to the server: WebSocket frames, request URLs (as sent), headers, bodies. */
export function captureOutgoing(page: Page): string[] {
  const seen: string[] = [];
  page.on("websocket", (socket) => {
    socket.on("framesent", (frame) => seen.push(String(frame.payload)));
  });
  page.on("request", async (request) => {
    // A fragment is never sent on the wire (Playwright reports it with navigations).
    seen.push(request.url().replace(/#.*$/, ""));
    seen.push(JSON.stringify(await request.allHeaders()));
    const body = request.postDataBuffer();
    if (body && body.byteLength < 1_000_000) seen.push(body.toString("latin1"));
  });
  return seen;
}
