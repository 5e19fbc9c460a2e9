/**
 * Receiving-browser memory of one large live transfer (not part of CI nor of
 * `deno task bench`): the real /share and /r/:code pages, one file, the
 * receiving browser's RSS summed over ALL its processes (browser, renderers,
 * storage/network utilities), sampled every 250 ms, growth over the value
 * before accepting. Each size runs twice: received into the OPFS (the default)
 * and into Blob parts in memory (OPFS hidden from the page, the last resort).
 * The receiver runs in a persistent profile (a temp dir), as a person's browser
 * does: Playwright's default contexts are off the record, where Chromium keeps
 * the OPFS in memory (a private window does the same).
 *
 *     deno run -A bench/share_receive_memory.ts [--mib=1024] [--only=opfs|memory]
 *
 * Prints one line per run; nothing is written to bench/results/.
 */
import { type Browser, type BrowserContext, chromium } from "playwright-core";
import { findChromium, launchBrowser } from "../tests/browser.ts";
import { startServer } from "../tests/harness.ts";
import { randomFile } from "../tests/share_fixtures.ts";
import { fixed, rssKiB } from "./_common.ts";

const MiB = 1024 * 1024;
function flag(name: string): string | undefined {
  return Deno.args.find((value) => value.startsWith(`--${name}=`))?.split("=")[1];
}
const sizeMiB = Number(flag("mib") ?? 1024);
const modes = flag("only") ? [flag("only") as "opfs" | "memory"] : ["opfs", "memory"] as const;

/** RSS of every process of the browser running `context`, in MiB. */
async function totalRssMiB(context: BrowserContext): Promise<number> {
  const session = await context.browser()!.newBrowserCDPSession();
  try {
    const info = await session.send("SystemInfo.getProcessInfo") as {
      processInfo: { id: number }[];
    };
    let total = 0;
    for (const process of info.processInfo) {
      const rss = (() => {
        try {
          return rssKiB(process.id);
        } catch {
          return NaN; // ended meanwhile
        }
      })();
      if (Number.isFinite(rss)) total += rss / 1024;
    }
    return total;
  } finally {
    await session.detach().catch(() => {});
  }
}

async function run(mode: "opfs" | "memory", baseUrl: string, path: string) {
  const senderBrowser: Browser = await launchBrowser();
  const profile = await Deno.makeTempDir({ prefix: "switchboard-bench-profile-" });
  const receiverContext = await chromium.launchPersistentContext(profile, {
    executablePath: findChromium()!,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--allow-loopback-in-peer-connection"],
  });
  try {
    const sender = await (await senderBrowser.newContext()).newPage();
    await sender.goto(`${baseUrl}/share`);
    await sender.waitForSelector('[data-island="ShareLive"][data-hydrated="true"]');
    await sender.getByTestId("live-file-input").setInputFiles(path);
    await sender.getByTestId("live-start").click();
    const link = await sender.getByTestId("live-link").inputValue({ timeout: 30_000 });
    const receiver = await receiverContext.newPage();
    if (mode === "memory") {
      await receiver.addInitScript(() => {
        delete (StorageManager.prototype as { getDirectory?: unknown }).getDirectory;
      });
    }
    await receiver.goto(link);
    await receiver.waitForSelector(
      `[data-testid="receive"][data-storage="${mode === "opfs" ? "disk" : "memory"}"]`,
    );
    const before = await totalRssMiB(receiverContext);
    let peak = before;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await totalRssMiB(receiverContext).catch(() => 0));
        // A sampling interval, not a wait for an event.
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    await receiver.getByTestId("receive-accept").click({ timeout: 30_000 });
    await receiver.waitForSelector(
      '[data-testid="receive"][data-phase="done"], [data-testid="receive"][data-phase="failed"]',
      { timeout: sizeMiB * 1000 + 120_000 },
    );
    sampling = false;
    await sampler;
    const root = receiver.getByTestId("receive");
    const phase = await root.getAttribute("data-phase");
    const seconds = (Number(await root.getAttribute("data-finished-at")) -
      Number(await root.getAttribute("data-started-at"))) / 1000;
    const after = await totalRssMiB(receiverContext);
    console.log(
      `${mode}: ${sizeMiB} MiB ${phase} in ${fixed(seconds)} s (${
        fixed(sizeMiB / seconds)
      } MiB/s); receiving browser RSS (all processes) before ${fixed(before)} MiB, peak ${
        fixed(peak)
      } MiB (growth ${fixed(peak - before)} MiB), after ${fixed(after)} MiB`,
    );
  } finally {
    await senderBrowser.close();
    await receiverContext.close();
    await Deno.remove(profile, { recursive: true });
  }
}

const dir = await Deno.makeTempDir({ prefix: "switchboard-bench-receive-memory-" });
try {
  const file = await randomFile(dir, "big.bin", sizeMiB * MiB);
  await using server = await startServer({ env: { FALLBACK_TIMEOUT_MS: "120000" } });
  console.log(`load average before: ${Deno.readTextFileSync("/proc/loadavg").trim()}`);
  for (const mode of modes) await run(mode, server.url, file.path);
  console.log(`load average after: ${Deno.readTextFileSync("/proc/loadavg").trim()}`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
