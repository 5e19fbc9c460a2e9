/**
 * Link-mode benchmark: upload and download throughput of a 100 MiB file through a
 * real server process, as ratios to raw KV writes and reads of the same bytes
 * with the same chunking measured in the same run, plus the server's memory
 * growth during each transfer.
 *
 *     deno run -A bench/link_mode.ts [--mib=100] [--runs=5]
 *
 * Writes bench/results/link_mode.json and prints a table.
 */
import { startServer } from "../tests/harness.ts";
import { postWithLength } from "../tests/link_fixtures.ts";
import { CHUNK_SIZE, CHUNKS_PER_COMMIT } from "../lib/link/mod.ts";

const MiB = 1024 * 1024;

function flag(name: string, fallback: number): number {
  const arg = Deno.args.find((value) => value.startsWith(`--${name}=`));
  return arg ? Number(arg.split("=")[1]) : fallback;
}

const sizeMiB = flag("mib", 100);
const runs = flag("runs", 5);
const size = sizeMiB * MiB;

/** `VmRSS` or `VmHWM` of a process, in KiB. */
function memoryKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
}

/** Samples a process's RSS every 5 ms while `work` runs; returns the work's result and the peak. */
async function withPeakRss<T>(
  pid: number,
  work: () => Promise<T>,
): Promise<{ result: T; baselineKiB: number; peakKiB: number }> {
  const baselineKiB = memoryKiB(pid, "VmRSS");
  let peakKiB = baselineKiB;
  const timer = setInterval(() => {
    peakKiB = Math.max(peakKiB, memoryKiB(pid, "VmRSS"));
  }, 5);
  try {
    const result = await work();
    peakKiB = Math.max(peakKiB, memoryKiB(pid, "VmRSS"));
    return { result, baselineKiB, peakKiB };
  } finally {
    clearInterval(timer);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

// The same bytes for every run, made once (in this process, not the server's).
const data = new Uint8Array(size);
for (let offset = 0; offset < size; offset += 65536) {
  crypto.getRandomValues(data.subarray(offset, offset + 65536));
}

/** Raw KV baseline: the same chunks and batches as the link store, nothing else. */
async function rawKv(): Promise<{ writeSeconds: number; readSeconds: number }> {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-bench-kv-" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
  try {
    const chunks = Math.ceil(size / CHUNK_SIZE);
    const writeStart = performance.now();
    for (let first = 0; first < chunks; first += CHUNKS_PER_COMMIT) {
      const operation = kv.atomic();
      for (let index = first; index < Math.min(chunks, first + CHUNKS_PER_COMMIT); index++) {
        operation.set(
          ["raw", index],
          data.slice(index * CHUNK_SIZE, Math.min(size, (index + 1) * CHUNK_SIZE)),
        );
      }
      const result = await operation.commit();
      if (!result.ok) throw new Error("raw commit failed");
    }
    const writeSeconds = (performance.now() - writeStart) / 1000;
    const readStart = performance.now();
    let read = 0;
    for (let first = 0; first < chunks; first += 10) {
      const keys: Deno.KvKey[] = [];
      for (let index = first; index < Math.min(chunks, first + 10); index++) {
        keys.push(["raw", index]);
      }
      for (const entry of await kv.getMany<Uint8Array[]>(keys)) read += entry.value!.byteLength;
    }
    if (read !== size) throw new Error(`raw read ${read} bytes`);
    return { writeSeconds, readSeconds: (performance.now() - readStart) / 1000 };
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const server = await startServer({
  env: { UPLOADS_PER_HOUR: "100000", MAX_UPLOAD_BYTES: String(size), LOG_LEVEL: "error" },
});
const samples = {
  uploadSeconds: [] as number[],
  downloadSeconds: [] as number[],
  rawWriteSeconds: [] as number[],
  rawReadSeconds: [] as number[],
  uploadGrowthKiB: [] as number[],
  downloadGrowthKiB: [] as number[],
};
let baselineRssKiB = 0;
try {
  // Warm-up: JIT, KV file, connection.
  const warm = await fetch(`${server.url}/api/upload`, {
    method: "POST",
    headers: { "X-Filename": "warm.bin" },
    body: data.subarray(0, 4 * MiB),
  });
  const warmId = (await warm.json()).id;
  await (await fetch(`${server.url}/api/download/${warmId}`)).arrayBuffer();
  baselineRssKiB = memoryKiB(server.pid, "VmRSS");

  for (let run = 0; run < runs; run++) {
    const upload = await withPeakRss(server.pid, async () => {
      const started = performance.now();
      // A Content-Length upload over a plain socket, as browsers and curl send it (Deno's
      // fetch streams chunked and stalls on backpressure: it would measure the client).
      let offset = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (offset >= size) return controller.close();
          controller.enqueue(data.subarray(offset, offset + MiB));
          offset += MiB;
        },
      });
      const response = await postWithLength(`${server.url}/api/upload`, {
        headers: { "X-Filename": "bench.bin" },
        body,
        length: size,
      });
      if (response.status !== 201 || response.json.size !== size) {
        throw new Error(`upload failed: ${JSON.stringify(response.json)}`);
      }
      return { seconds: (performance.now() - started) / 1000, id: response.json.id as string };
    });
    samples.uploadSeconds.push(upload.result.seconds);
    samples.uploadGrowthKiB.push(upload.peakKiB - upload.baselineKiB);

    const download = await withPeakRss(server.pid, async () => {
      const started = performance.now();
      const response = await fetch(`${server.url}/api/download/${upload.result.id}`);
      let received = 0;
      for await (const piece of response.body!) received += piece.byteLength;
      if (received !== size) throw new Error(`download got ${received} bytes`);
      return (performance.now() - started) / 1000;
    });
    samples.downloadSeconds.push(download.result);
    samples.downloadGrowthKiB.push(download.peakKiB - download.baselineKiB);

    const raw = await rawKv();
    samples.rawWriteSeconds.push(raw.writeSeconds);
    samples.rawReadSeconds.push(raw.readSeconds);
  }
} finally {
  await server.stop();
}

const rate = (seconds: number) => sizeMiB / seconds;
const uploadMiBs = rate(median(samples.uploadSeconds));
const downloadMiBs = rate(median(samples.downloadSeconds));
const rawWriteMiBs = rate(median(samples.rawWriteSeconds));
const rawReadMiBs = rate(median(samples.rawReadSeconds));
const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const result = {
  benchmark: "link_mode",
  date: new Date().toISOString(),
  deno: Deno.version.deno,
  cpus: navigator.hardwareConcurrency,
  fileMiB: sizeMiB,
  chunkBytes: CHUNK_SIZE,
  chunksPerCommit: CHUNKS_PER_COMMIT,
  runs,
  uploadMiBs: round(uploadMiBs),
  downloadMiBs: round(downloadMiBs),
  rawKvWriteMiBs: round(rawWriteMiBs),
  rawKvReadMiBs: round(rawReadMiBs),
  // Each run pairs a transfer with the raw KV pass right after it; the median of those
  // ratios is steadier than a ratio of medians on a shared machine.
  uploadRatioToRawKvWrite: round(
    median(samples.uploadSeconds.map((seconds, run) => samples.rawWriteSeconds[run]! / seconds)),
  ),
  downloadRatioToRawKvRead: round(
    median(samples.downloadSeconds.map((seconds, run) => samples.rawReadSeconds[run]! / seconds)),
  ),
  serverBaselineRssMiB: round(baselineRssKiB / 1024, 1),
  serverPeakGrowthUploadMiB: round(Math.max(...samples.uploadGrowthKiB) / 1024, 1),
  serverPeakGrowthDownloadMiB: round(Math.max(...samples.downloadGrowthKiB) / 1024, 1),
  samples,
};
const resultsDir = new URL("./results/", import.meta.url);
await Deno.mkdir(resultsDir, { recursive: true });
await Deno.writeTextFile(
  new URL("link_mode.json", resultsDir),
  JSON.stringify(result, null, 2) + "\n",
);

const perRun = (values: number[]) =>
  values.map((kib) => `${(kib / 1024).toFixed(1)}`).join(", ") + " MiB";
const rows: Array<[string, string]> = [
  [`Upload ${sizeMiB} MiB through the server`, `${result.uploadMiBs} MiB/s`],
  ["Raw KV writes, same chunks and batches", `${result.rawKvWriteMiBs} MiB/s`],
  ["Upload / raw KV write (median of per-run ratios)", `${result.uploadRatioToRawKvWrite}×`],
  [`Download ${sizeMiB} MiB through the server`, `${result.downloadMiBs} MiB/s`],
  ["Raw KV reads, same chunks", `${result.rawKvReadMiBs} MiB/s`],
  ["Download / raw KV read (median of per-run ratios)", `${result.downloadRatioToRawKvRead}×`],
  ["Server RSS before the transfers", `${result.serverBaselineRssMiB} MiB`],
  ["Server peak RSS growth during an upload", `${result.serverPeakGrowthUploadMiB} MiB`],
  ["Server peak RSS growth during a download", `${result.serverPeakGrowthDownloadMiB} MiB`],
  ["  … per run (upload)", perRun(samples.uploadGrowthKiB)],
  ["  … per run (download)", perRun(samples.downloadGrowthKiB)],
];
const width = Math.max(...rows.map(([label]) => label.length));
console.log(
  `\nLink mode, ${sizeMiB} MiB, median of ${runs} runs (Deno ${result.deno}, ${result.cpus} CPUs)`,
);
for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
console.log(`\nWrote bench/results/link_mode.json`);
