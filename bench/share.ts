/**
 * Live file-share benchmark: browser-to-browser throughput of our protocol
 * (the real /share and /r/:code pages: manifest, 64 KiB chunks with
 * backpressure, incremental SHA-256 on both sides, Blob-part assembly,
 * per-file acknowledgements, the file written to the OPFS as it arrives) as a
 * ratio to a bare data-channel page pair doing the same transfer with no
 * protocol (keeping the chunks in memory, as a minimal page does), measured in
 * the same run over loopback; plus the receiving browser's memory while it
 * receives the file: RSS of all its processes (browser, renderers, storage and
 * network utilities) and of the page's renderer.
 *
 *     deno run -A bench/share.ts [--mib=1024] [--runs=1] [--quick]
 *
 * Two headless Chromium processes (sender, receiver). The receiver runs in a
 * persistent profile (a temp dir), as a person's browser does: Playwright's
 * default contexts are off the record, where Chromium keeps the OPFS in memory.
 * Default: one 1 GiB transfer each (`--quick`: 100 MiB). Writes
 * bench/results/share.json and prints a table.
 */
import {
  type Browser,
  type BrowserContext,
  type CDPSession,
  chromium,
  type Page,
} from "playwright-core";
import { findChromium, launchBrowser } from "../tests/browser.ts";
import { startServer } from "../tests/harness.ts";
import { randomFile } from "../tests/share_fixtures.ts";
import { DEFAULT_CHUNK_BYTES, DEFAULT_HIGH_WATER_BYTES } from "../lib/file_share/mod.ts";
import { fixed, rssKiB, writeResult } from "./_common.ts";
import { serveBarePages } from "./_share_bare.ts";

const MiB = 1024 * 1024;
const quick = Deno.args.includes("--quick");

function flag(name: string, fallback: number): number {
  const arg = Deno.args.find((value) => value.startsWith(`--${name}=`));
  return arg ? Number(arg.split("=")[1]) : fallback;
}

const sizeMiB = flag("mib", quick ? 100 : 1024);
const runs = flag("runs", 1);
/** A run that takes longer than this is stuck (loopback moves ≥ 5 MiB/s even on a busy box). */
const RUN_TIMEOUT_MS = Math.max(120_000, (sizeMiB / 2) * 1000 * 2);

function log(text: string): void {
  console.error(`[share] ${text}`);
}

interface Memory {
  /** Peak `JSHeapUsedSize` of the receiving page (CDP Performance.getMetrics). */
  jsHeapMiB: number;
  /** Peak RSS of the receiving browser's largest renderer process (the page's). */
  rendererRssMiB: number;
  /** …and how much it grew from the start of the transfer. */
  rendererGrowthMiB: number;
  /** Peak RSS of the receiving browser's main process (where Blob data lives). */
  browserRssMiB: number;
  /** …and how much it grew from the start of the transfer. */
  browserGrowthMiB: number;
  /** Peak RSS of all the receiving browser's processes together. */
  totalRssMiB: number;
  /** …and how much it grew from the start of the transfer (the bound: < 150 MiB at 1 GiB). */
  totalGrowthMiB: number;
  /** Main-thread time the receiving page spent running script during the transfer (s). */
  scriptSeconds: number;
}

interface Run {
  seconds: number;
  mibPerSecond: number;
  memory: Memory;
  /** CPU time all processes of each browser spent during the run (s). */
  senderCpuSeconds: number;
  receiverCpuSeconds: number;
}

/** CPU seconds all processes of a browser have used so far (CDP SystemInfo.getProcessInfo). */
async function cpuSeconds(browser: Browser): Promise<number> {
  const session = await browser.newBrowserCDPSession();
  try {
    const info = await session.send("SystemInfo.getProcessInfo") as {
      processInfo: { cpuTime: number }[];
    };
    return info.processInfo.reduce((sum, process) => sum + process.cpuTime, 0);
  } finally {
    await session.detach().catch(() => {});
  }
}

/** Samples the receiving side's memory every 250 ms until stopped. */
function sampleMemory(browser: Browser, page: Page): { stop(): Promise<Memory> } {
  const peak: Memory = {
    jsHeapMiB: 0,
    rendererRssMiB: 0,
    rendererGrowthMiB: 0,
    browserRssMiB: 0,
    browserGrowthMiB: 0,
    totalRssMiB: 0,
    totalGrowthMiB: 0,
    scriptSeconds: 0,
  };
  let totalStart = -1;
  let scriptStart = -1;
  let rendererStart = -1;
  let browserStart = -1;
  let running = true;
  let pageSession: CDPSession | null = null;
  const loop = (async () => {
    pageSession = await page.context().newCDPSession(page);
    await pageSession.send("Performance.enable");
    const browserSession = await browser.newBrowserCDPSession();
    while (running) {
      try {
        const { metrics } = await pageSession.send("Performance.getMetrics");
        const heap = metrics.find((metric) => metric.name === "JSHeapUsedSize")?.value ?? 0;
        const script = metrics.find((metric) => metric.name === "ScriptDuration")?.value ?? 0;
        if (scriptStart < 0) scriptStart = script;
        peak.scriptSeconds = script - scriptStart;
        peak.jsHeapMiB = Math.max(peak.jsHeapMiB, heap / MiB);
        const info = await browserSession.send("SystemInfo.getProcessInfo") as {
          processInfo: { type: string; id: number }[];
        };
        let renderer = 0;
        let main = 0;
        let total = 0;
        for (const process of info.processInfo) {
          let rss = NaN;
          try {
            rss = rssKiB(process.id) / 1024;
          } catch { /* ended meanwhile */ }
          if (!Number.isFinite(rss)) continue;
          total += rss;
          if (process.type === "renderer") renderer = Math.max(renderer, rss);
          if (process.type === "browser") main = rss;
        }
        if (rendererStart < 0) rendererStart = renderer;
        if (browserStart < 0) browserStart = main;
        if (totalStart < 0) totalStart = total;
        peak.totalRssMiB = Math.max(peak.totalRssMiB, total);
        peak.totalGrowthMiB = Math.max(peak.totalGrowthMiB, total - totalStart);
        peak.rendererRssMiB = Math.max(peak.rendererRssMiB, renderer);
        peak.rendererGrowthMiB = Math.max(peak.rendererGrowthMiB, renderer - rendererStart);
        peak.browserRssMiB = Math.max(peak.browserRssMiB, main);
        peak.browserGrowthMiB = Math.max(peak.browserGrowthMiB, main - browserStart);
      } catch { /* the page is navigating */ }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await browserSession.detach().catch(() => {});
  })();
  return {
    async stop() {
      running = false;
      // A CDP call can hang on a busy machine; the samples taken so far are enough.
      await Promise.race([loop, new Promise((resolve) => setTimeout(resolve, 3000))]);
      return peak;
    },
  };
}

async function runOurs(
  senderBrowser: Browser,
  receiveContext: BrowserContext,
  baseUrl: string,
  path: string,
  bytes: number,
): Promise<Run> {
  const receiverBrowser = receiveContext.browser()!;
  const sendContext = await senderBrowser.newContext();
  const pages: Page[] = [];
  try {
    const sender = await sendContext.newPage();
    await sender.goto(`${baseUrl}/share`);
    await sender.waitForSelector('[data-island="ShareLive"][data-hydrated="true"]');
    await sender.getByTestId("live-file-input").setInputFiles(path);
    await sender.getByTestId("live-start").click();
    const link = await sender.getByTestId("live-link").inputValue({ timeout: 15_000 });
    const receiver = await receiveContext.newPage();
    pages.push(receiver);
    await receiver.goto(link);
    await receiver.waitForSelector('[data-testid="receive"][data-storage="disk"]');
    await receiver.getByTestId("receive-accept").click({ timeout: 15_000 });
    log("ours: accepted, transferring");
    const cpuBefore = [await cpuSeconds(senderBrowser), await cpuSeconds(receiverBrowser)];
    const memory = sampleMemory(receiverBrowser, receiver);
    try {
      await receiver.waitForSelector(
        ["done", "failed", "canceled"].map((phase) =>
          `[data-testid="receive"][data-phase="${phase}"]`
        ).join(", "),
        { timeout: RUN_TIMEOUT_MS },
      );
      const phase = await receiver.getByTestId("receive").getAttribute("data-phase");
      if (phase !== "done") throw new Error(`the transfer ended ${phase}`);
    } catch (error) {
      // Say where each side stood, so a stuck run can be understood.
      for (const [name, page] of [["sender", sender], ["receiver", receiver]] as const) {
        const text = await page.locator("main").innerText().catch(() => "(unreadable)");
        log(`${name} page when the run timed out:\n${text}`);
        await page.screenshot({ path: `/tmp/share-bench-stuck-${name}.png`, fullPage: true })
          .catch(() => {});
      }
      throw error;
    }
    const peak = await memory.stop();
    const root = receiver.getByTestId("receive");
    const startedAt = Number(await root.getAttribute("data-started-at"));
    const finishedAt = Number(await root.getAttribute("data-finished-at"));
    const route = await receiver.getByTestId("share-route").getAttribute("data-route");
    if (route !== "direct") throw new Error(`expected a direct connection, got ${route}`);
    const seconds = (finishedAt - startedAt) / 1000;
    return {
      seconds,
      mibPerSecond: bytes / MiB / seconds,
      memory: peak,
      senderCpuSeconds: await cpuSeconds(senderBrowser) - cpuBefore[0]!,
      receiverCpuSeconds: await cpuSeconds(receiverBrowser) - cpuBefore[1]!,
    };
  } finally {
    await sendContext.close();
    // The received file stays in the profile's OPFS; the profile is deleted at the end.
    for (const page of pages) await page.close();
  }
}

async function runBare(
  senderBrowser: Browser,
  receiveContext: BrowserContext,
  baseUrl: string,
  path: string,
  bytes: number,
): Promise<Run> {
  const receiverBrowser = receiveContext.browser()!;
  const sendContext = await senderBrowser.newContext();
  const room = crypto.randomUUID();
  const pages: Page[] = [];
  try {
    const receiver = await receiveContext.newPage();
    pages.push(receiver);
    await receiver.goto(`${baseUrl}/?role=receiver&room=${room}`);
    const sender = await sendContext.newPage();
    await sender.goto(`${baseUrl}/?role=sender&room=${room}`);
    await sender.locator("#file").setInputFiles(path);
    const cpuBefore = [await cpuSeconds(senderBrowser), await cpuSeconds(receiverBrowser)];
    const memory = sampleMemory(receiverBrowser, receiver);
    log("bare: sending");
    await sender.evaluate(() =>
      (globalThis as unknown as { startSend(): Promise<void> }).startSend()
    );
    await receiver.waitForFunction(() => (globalThis as { result?: unknown }).result, null, {
      timeout: RUN_TIMEOUT_MS,
      polling: 100,
    });
    const peak = await memory.stop();
    const result = await receiver.evaluate(() =>
      (globalThis as unknown as {
        result: { startedAt: number; finishedAt: number; bytes: number };
      })
        .result
    );
    if (result.bytes !== bytes) throw new Error(`bare run received ${result.bytes} of ${bytes}`);
    const seconds = (result.finishedAt - result.startedAt) / 1000;
    return {
      seconds,
      mibPerSecond: bytes / MiB / seconds,
      memory: peak,
      senderCpuSeconds: await cpuSeconds(senderBrowser) - cpuBefore[0]!,
      receiverCpuSeconds: await cpuSeconds(receiverBrowser) - cpuBefore[1]!,
    };
  } finally {
    await sendContext.close();
    for (const page of pages) await page.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The 1-minute load average (other work on the machine skews browser numbers a lot). */
function loadAverage(): number {
  return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
}

const loadBefore = loadAverage();
const dir = await Deno.makeTempDir({ prefix: "switchboard-bench-share-" });
const file = await randomFile(dir, "bench.bin", sizeMiB * MiB);
const warmUp = await randomFile(dir, "warm-up.bin", 16 * MiB);
await using server = await startServer({ env: { FALLBACK_TIMEOUT_MS: "120000" } });
const bare = serveBarePages();
const bareUrl = `http://127.0.0.1:${bare.addr.port}`;
const senderBrowser = await launchBrowser();
const profile = await Deno.makeTempDir({ prefix: "switchboard-bench-profile-" });
const receiverBrowser = await chromium.launchPersistentContext(profile, {
  executablePath: findChromium()!,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--allow-loopback-in-peer-connection"],
});
const ours: Run[] = [];
const baseline: Run[] = [];
try {
  // One small transfer each first: JIT, caches and Chromium's lazy services warm up.
  log("warm-up");
  await runBare(senderBrowser, receiverBrowser, bareUrl, warmUp.path, warmUp.size);
  await runOurs(senderBrowser, receiverBrowser, server.url, warmUp.path, warmUp.size);
  for (let run = 0; run < runs; run++) {
    // Alternate the order so drift on a noisy machine hits both sides alike.
    if (run % 2 === 0) {
      baseline.push(await runBare(senderBrowser, receiverBrowser, bareUrl, file.path, file.size));
      ours.push(await runOurs(senderBrowser, receiverBrowser, server.url, file.path, file.size));
    } else {
      ours.push(await runOurs(senderBrowser, receiverBrowser, server.url, file.path, file.size));
      baseline.push(await runBare(senderBrowser, receiverBrowser, bareUrl, file.path, file.size));
    }
    log(
      `run ${run + 1}/${runs}: ours ${fixed(ours.at(-1)!.mibPerSecond)} MiB/s, bare ${
        fixed(baseline.at(-1)!.mibPerSecond)
      } MiB/s`,
    );
  }
} finally {
  await senderBrowser.close();
  await receiverBrowser.close();
  await bare.shutdown();
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(profile, { recursive: true });
}

const ratios = ours.map((run, index) => run.mibPerSecond / baseline[index]!.mibPerSecond);
const oursMemory = ours.map((run) => run.memory);
const bareMemory = baseline.map((run) => run.memory);
const max = (values: number[]) => Math.max(...values);
const result = {
  benchmark: "share",
  date: new Date().toISOString(),
  deno: Deno.version.deno,
  cpus: navigator.hardwareConcurrency,
  loadAverage: { before: loadBefore, after: loadAverage() },
  fileMiB: sizeMiB,
  runs,
  chunkBytes: DEFAULT_CHUNK_BYTES,
  highWaterBytes: DEFAULT_HIGH_WATER_BYTES,
  oursMiBs: Number(fixed(median(ours.map((run) => run.mibPerSecond)), 2)),
  bareMiBs: Number(fixed(median(baseline.map((run) => run.mibPerSecond)), 2)),
  ratioToBare: Number(fixed(median(ratios), 2)),
  target: 0.7,
  receiver: {
    oursJsHeapPeakMiB: Number(fixed(max(oursMemory.map((m) => m.jsHeapMiB)))),
    bareJsHeapPeakMiB: Number(fixed(max(bareMemory.map((m) => m.jsHeapMiB)))),
    oursRendererRssPeakMiB: Number(fixed(max(oursMemory.map((m) => m.rendererRssMiB)))),
    bareRendererRssPeakMiB: Number(fixed(max(bareMemory.map((m) => m.rendererRssMiB)))),
    oursRendererGrowthMiB: Number(fixed(max(oursMemory.map((m) => m.rendererGrowthMiB)))),
    bareRendererGrowthMiB: Number(fixed(max(bareMemory.map((m) => m.rendererGrowthMiB)))),
    oursBrowserRssPeakMiB: Number(fixed(max(oursMemory.map((m) => m.browserRssMiB)))),
    bareBrowserRssPeakMiB: Number(fixed(max(bareMemory.map((m) => m.browserRssMiB)))),
    oursBrowserGrowthMiB: Number(fixed(max(oursMemory.map((m) => m.browserGrowthMiB)))),
    bareBrowserGrowthMiB: Number(fixed(max(bareMemory.map((m) => m.browserGrowthMiB)))),
    oursTotalRssPeakMiB: Number(fixed(max(oursMemory.map((m) => m.totalRssMiB)))),
    bareTotalRssPeakMiB: Number(fixed(max(bareMemory.map((m) => m.totalRssMiB)))),
    oursTotalGrowthMiB: Number(fixed(max(oursMemory.map((m) => m.totalGrowthMiB)))),
    bareTotalGrowthMiB: Number(fixed(max(bareMemory.map((m) => m.totalGrowthMiB)))),
    totalGrowthTargetMiB: 150,
    oursScriptSeconds: Number(fixed(median(oursMemory.map((m) => m.scriptSeconds)), 2)),
    bareScriptSeconds: Number(fixed(median(bareMemory.map((m) => m.scriptSeconds)), 2)),
    oursCpuSeconds: Number(fixed(median(ours.map((run) => run.receiverCpuSeconds)), 2)),
    bareCpuSeconds: Number(fixed(median(baseline.map((run) => run.receiverCpuSeconds)), 2)),
  },
  sender: {
    oursCpuSeconds: Number(fixed(median(ours.map((run) => run.senderCpuSeconds)), 2)),
    bareCpuSeconds: Number(fixed(median(baseline.map((run) => run.senderCpuSeconds)), 2)),
  },
  samples: {
    oursSeconds: ours.map((run) => Number(fixed(run.seconds, 3))),
    bareSeconds: baseline.map((run) => Number(fixed(run.seconds, 3))),
    ratios: ratios.map((ratio) => Number(fixed(ratio, 3))),
  },
};
const path = await writeResult("share", result);

const rows: [string, string, string][] = [
  ["throughput (MiB/s, median)", fixed(result.oursMiBs, 2), fixed(result.bareMiBs, 2)],
  ["ratio ours / bare (target ≥ 0.7)", fixed(result.ratioToBare, 2), "1.00"],
  [
    "receiving browser RSS growth, all processes (MiB; target < 150)",
    fixed(result.receiver.oursTotalGrowthMiB),
    fixed(result.receiver.bareTotalGrowthMiB),
  ],
  [
    "receiving browser RSS peak, all processes (MiB)",
    fixed(result.receiver.oursTotalRssPeakMiB),
    fixed(result.receiver.bareTotalRssPeakMiB),
  ],
  [
    "receiver JS heap peak (MiB)",
    fixed(result.receiver.oursJsHeapPeakMiB),
    fixed(result.receiver.bareJsHeapPeakMiB),
  ],
  [
    "receiver renderer RSS peak (MiB)",
    fixed(result.receiver.oursRendererRssPeakMiB),
    fixed(result.receiver.bareRendererRssPeakMiB),
  ],
  [
    "receiver renderer RSS growth (MiB)",
    fixed(result.receiver.oursRendererGrowthMiB),
    fixed(result.receiver.bareRendererGrowthMiB),
  ],
  [
    "receiver browser process RSS peak (MiB)",
    fixed(result.receiver.oursBrowserRssPeakMiB),
    fixed(result.receiver.bareBrowserRssPeakMiB),
  ],
  [
    "receiver browser process RSS growth (MiB)",
    fixed(result.receiver.oursBrowserGrowthMiB),
    fixed(result.receiver.bareBrowserGrowthMiB),
  ],
  [
    "receiver page script time (s, median)",
    fixed(result.receiver.oursScriptSeconds, 2),
    fixed(result.receiver.bareScriptSeconds, 2),
  ],
  [
    "receiving browser CPU time (s, median)",
    fixed(result.receiver.oursCpuSeconds, 2),
    fixed(result.receiver.bareCpuSeconds, 2),
  ],
  [
    "sending browser CPU time (s, median)",
    fixed(result.sender.oursCpuSeconds, 2),
    fixed(result.sender.bareCpuSeconds, 2),
  ],
];
console.log(
  `share: ${sizeMiB} MiB over loopback, ${runs} run(s), ${DEFAULT_CHUNK_BYTES / 1024} KiB chunks`,
);
console.log(`| ${"measure".padEnd(64)} | ${"ours".padStart(8)} | ${"bare".padStart(8)} |`);
console.log(`| ${"-".repeat(64)} | ${"-".repeat(8)} | ${"-".repeat(8)} |`);
for (const [name, a, b] of rows) {
  console.log(`| ${name.padEnd(64)} | ${a.padStart(8)} | ${b.padStart(8)} |`);
}
console.log(`written: ${path}`);
