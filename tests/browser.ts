/**
 * @module
 * Headless Debian Chromium (`apt-get install chromium`, as .ci/run does) driven by
 * playwright-core.
 * Without Chromium the browser tests say so loudly and skip, unless
 * REQUIRE_BROWSER=1 (CI), where they fail.
 */
import { type Browser, chromium, type Page } from "playwright-core";

const CANDIDATES = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

/** The Chromium binary, or null when none is installed. */
export function findChromium(): string | null {
  for (const path of CANDIDATES) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* not here */ }
  }
  return null;
}

/** True when browser tests can run; throws when they must but cannot. */
export function browserAvailable(): boolean {
  if (findChromium()) return true;
  if (Deno.env.get("REQUIRE_BROWSER") === "1") {
    throw new Error("REQUIRE_BROWSER=1 but no Chromium found (apt-get install -y chromium)");
  }
  console.warn(
    "\n!!! Chromium not found: browser tests are SKIPPED. Install it with " +
      "`apt-get install -y chromium`, or set REQUIRE_BROWSER=1 to make this an error. !!!\n",
  );
  return false;
}

/** Launches headless Chromium with the flags this machine needs. */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error("Chromium is not installed");
  return await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--allow-loopback-in-peer-connection",
      ...extraArgs,
    ],
  });
}

/** Collects console errors and page errors, to assert a page stayed clean. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  return errors;
}

/** How much of a long page a screenshot keeps (CSS pixels from the top). */
const SCREENSHOT_MAX_HEIGHT = 3000;

/**
 * With `SCREENSHOTS=1`, saves a screenshot under `tests/screenshots/` (git-ignored)
 * for a person to look at: the whole page, or its top 3,000 px when it is longer
 * (capturing the whole API reference, ~100 endpoint cards, took over 30 s on a
 * busy 2-core machine). Without it, does nothing: no test asserts on a screenshot,
 * and the suite's ~45 of them cost ~15 s of CPU on the 2-core CI machine, whose
 * Chromium pass is CPU-bound. Returns the file's path, or null when none was saved.
 */
export async function screenshot(page: Page, name: string): Promise<string | null> {
  if (Deno.env.get("SCREENSHOTS") !== "1") return null;
  const dir = new URL("./screenshots/", import.meta.url).pathname;
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}${name}.png`;
  const { width, height } = await page.evaluate(() => ({
    width: document.documentElement.clientWidth,
    height: document.documentElement.scrollHeight,
  }));
  await page.screenshot({
    path,
    fullPage: true,
    ...(height > SCREENSHOT_MAX_HEIGHT
      ? { clip: { x: 0, y: 0, width, height: SCREENSHOT_MAX_HEIGHT } }
      : {}),
  });
  return path;
}
