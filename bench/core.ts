/**
 * Realtime core benchmark: fan-out 1 → N over WebSocket and SSE at max rate and
 * at a fixed rate, cross-isolate publish → deliver latency, and memory per idle
 * socket — each for Switchboard and for a bare `Deno.serve` broadcast loop
 * measured in the same run. Subscribers live in a separate load-generator
 * process. Writes bench/results/core.json.
 *
 *     deno run -A bench/core.ts [--quick]
 */
import { startServer, TEST_API_KEY, type TestServer } from "../tests/harness.ts";
import { fixed, publishMany, rssKiB, spawnScript, wallNow, writeResult } from "./_common.ts";
import { connectInspector } from "./_inspector.ts";

const quick = Deno.args.includes("--quick");
const loadBefore = Deno.loadavg();

interface LoadResult {
  delivered: number;
  expected: number;
  complete: boolean;
  firstAt: number;
  lastAt: number;
  p50: number;
  p99: number;
  max: number;
}

interface Target {
  name: string;
  pid: number;
  subscribeUrl(mode: "ws" | "sse"): string;
  publish(sequence: number, client: Deno.HttpClient): Promise<void>;
  stop(): Promise<void>;
}

async function bareTarget(options: { inspectPort?: number } = {}): Promise<Target> {
  const port = 20000 + Math.floor(Math.random() * 10000);
  const run = spawnScript<never>("./_bare_server.ts", [String(port)], {
    denoFlags: options.inspectPort ? [`--inspect=127.0.0.1:${options.inspectPort}`] : [],
  });
  await run.ready;
  const base = `http://127.0.0.1:${port}`;
  return {
    name: "bare",
    pid: run.child.pid,
    subscribeUrl: (mode) => mode === "ws" ? `ws://127.0.0.1:${port}/ws` : `${base}/sse`,
    async publish(sequence, client) {
      const response = await fetch(`${base}/publish`, {
        method: "POST",
        client,
        body: JSON.stringify({ sentAt: wallNow(), sequence }),
      });
      await response.body?.cancel();
    },
    async stop() {
      run.child.kill("SIGKILL");
      await run.child.status;
    },
  };
}

async function switchboardTarget(
  isolates: number,
  topic: string,
  options: { inspectPort?: number } = {},
): Promise<Target> {
  const server: TestServer = await startServer({
    isolates,
    env: {
      REQUESTS_PER_MINUTE: "10000000",
      // One machine and one user hold every subscription: lift the per-client caps.
      CONNECTIONS_PER_ADDRESS: "100000",
      CONNECTIONS_PER_USER: "100000",
      LOG_LEVEL: "error",
      SEND_QUEUE_BYTES: "8388608",
    },
    denoFlags: options.inspectPort ? [`--inspect=127.0.0.1:${options.inspectPort}`] : [],
  });
  const tokenResponse = await fetch(`${server.url}/api/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ userId: "bench", perms: ["topics:read"] }),
  });
  const { token } = await tokenResponse.json();
  return {
    name: isolates > 1 ? `switchboard×${isolates}` : "switchboard",
    pid: server.pid,
    subscribeUrl: (mode) =>
      mode === "ws"
        ? `${server.wsUrl}/api/ws/topics/${topic}?token=${token}`
        : `${server.url}/api/topics/${topic}/events?token=${token}`,
    async publish(sequence, client) {
      const response = await fetch(`${server.url}/api/topics/${topic}/publish`, {
        method: "POST",
        client,
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ data: { sentAt: wallNow(), sequence } }),
      });
      await response.body?.cancel();
    },
    stop: () => server.stop(),
  };
}

interface FanOut {
  target: string;
  mode: "ws" | "sse";
  subscribers: number;
  messages: number;
  ratePerSecond: number | null;
  deliveredPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  complete: boolean;
}

async function fanOut(
  target: Target,
  mode: "ws" | "sse",
  subscribers: number,
  messages: number,
  ratePerSecond: number | null,
): Promise<FanOut> {
  const load = spawnScript<LoadResult>("./_load.ts", [JSON.stringify({
    url: target.subscribeUrl(mode),
    count: subscribers,
    mode,
    expect: messages,
    timeoutMs: 90_000,
  })]);
  await load.ready;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const client = Deno.createHttpClient({});
  const start = wallNow();
  await publishMany(messages, (sequence) => target.publish(sequence, client), {
    concurrency: 16,
    ...(ratePerSecond ? { ratePerSecond } : {}),
  });
  const result = await load.result;
  client.close();
  const seconds = (result.lastAt - start) / 1000;
  return {
    target: target.name,
    mode,
    subscribers,
    messages,
    ratePerSecond,
    deliveredPerSecond: result.delivered / seconds,
    p50Ms: result.p50,
    p99Ms: result.p99,
    complete: result.complete,
  };
}

async function holdSockets(target: Target, sockets: number) {
  const load = spawnScript<never>("./_load.ts", [JSON.stringify({
    url: target.subscribeUrl("ws"),
    count: sockets,
    mode: "ws",
    expect: 0,
    hold: true,
  })], { stdin: true });
  await load.ready;
  return load;
}

/** Memory per idle socket, KiB: RSS as the process holds it, and RSS and JS heap after a GC. */
interface IdleMemory {
  rss: number;
  rssAfterGc: number;
  heapAfterGc: number;
}

/**
 * Marginal memory of one idle subscribed WebSocket: 1,000 sockets first warm the
 * server up (heap growth that any first connections cause), then `sockets`
 * more connect. RSS is read after a pause as the process holds it (garbage from
 * the connection handshakes included), then again after a forced GC through
 * the inspector, with the JS heap.
 */
async function idleMemory(
  target: Target,
  sockets: number,
  inspectPort: number,
): Promise<IdleMemory> {
  await using inspector = await connectInspector(inspectPort);
  const warm = await holdSockets(target, 1000);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await inspector.collectGarbage();
  const before = { rss: rssKiB(target.pid), heap: await inspector.heapUsed() / 1024 };
  const load = await holdSockets(target, sockets);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const rss = rssKiB(target.pid);
  await inspector.collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = { rss: rssKiB(target.pid), heap: await inspector.heapUsed() / 1024 };
  for (const run of [load, warm]) {
    await run.stdin!.close();
    await run.child.status;
  }
  return {
    rss: (rss - before.rss) / sockets,
    rssAfterGc: (after.rss - before.rss) / sockets,
    heapAfterGc: (after.heap - before.heap) / sockets,
  };
}

const sizes = quick ? [100, 1000] : [100, 1000, 5000];
const messagesFor = (subscribers: number) => Math.max(20, Math.round(100_000 / subscribers));
const fanOuts: FanOut[] = [];
const memory: Record<string, IdleMemory> = {};

for (const mode of ["ws", "sse"] as const) {
  for (const subscribers of mode === "sse" ? sizes.filter((size) => size <= 1000) : sizes) {
    const messages = messagesFor(subscribers);
    const bare = await bareTarget();
    const bareMax = await fanOut(bare, mode, subscribers, messages, null);
    await bare.stop();
    const switchboard = await switchboardTarget(1, `app:fanout-${mode}-${subscribers}`);
    const ours = await fanOut(switchboard, mode, subscribers, messages, null);
    // Fixed rate: half of what the bare loop delivered, in publishes per second.
    const rate = Math.max(1, Math.round(bareMax.deliveredPerSecond / subscribers / 2));
    const oursFixed = await fanOut(
      switchboard,
      mode,
      subscribers,
      Math.min(messages, rate * 10),
      rate,
    );
    await switchboard.stop();
    fanOuts.push(bareMax, ours, oursFixed);
    console.error(`fan-out ${mode} ${subscribers}: done`);
  }
}

// Cross-isolate: subscribers spread over 2 isolates, publishes landing on either.
const crossTarget = await switchboardTarget(2, "app:cross");
const cross = await fanOut(crossTarget, "ws", 100, 400, 50);
await crossTarget.stop();
const singleTarget = await switchboardTarget(1, "app:single");
const single = await fanOut(singleTarget, "ws", 100, 400, 50);
await singleTarget.stop();

const idleSockets = quick ? 2000 : 10_000;
for (
  const make of [
    (inspectPort: number) => bareTarget({ inspectPort }),
    (inspectPort: number) => switchboardTarget(1, "app:idle", { inspectPort }),
  ]
) {
  const inspectPort = 9300 + Math.floor(Math.random() * 600);
  const target = await make(inspectPort);
  memory[target.name] = await idleMemory(target, idleSockets, inspectPort);
  await target.stop();
}

function ratio(mode: string, subscribers: number): number {
  const bare = fanOuts.find((row) =>
    row.target === "bare" && row.mode === mode && row.subscribers === subscribers
  );
  const ours = fanOuts.find((row) =>
    row.target === "switchboard" && row.mode === mode && row.subscribers === subscribers &&
    row.ratePerSecond === null
  );
  return (ours?.deliveredPerSecond ?? NaN) / (bare?.deliveredPerSecond ?? NaN);
}

const summary = {
  date: new Date().toISOString(),
  command: `deno run -A bench/core.ts${quick ? " --quick" : ""}`,
  cores: navigator.hardwareConcurrency,
  // Other work on the machine skews every figure: the load around the run says how much.
  loadAverage: { before: loadBefore, after: Deno.loadavg() },
  fanOuts,
  ratios: Object.fromEntries(
    fanOuts.filter((row) => row.target === "bare").map((row) => [
      `${row.mode}-${row.subscribers}`,
      ratio(row.mode, row.subscribers),
    ]),
  ),
  crossIsolate: { twoIsolates: cross, oneIsolate: single },
  idleMemoryKiBPerSocket: { sockets: idleSockets, ...memory },
  targets: {
    fanOutRatio: ">= 0.8",
    p99AtHalfBareRateWith1000: "<= 100 ms",
    idleSocketKiB: "<= 30",
  },
};
const path = await writeResult("core", summary);

console.log("\nFan-out (delivered messages/s; latency publish → deliver)");
console.log("mode  subs  target        rate/s   delivered/s   p50 ms   p99 ms  complete");
for (const row of fanOuts) {
  console.log(
    `${row.mode.padEnd(5)} ${String(row.subscribers).padStart(5)}  ${row.target.padEnd(12)} ${
      String(row.ratePerSecond ?? "max").padStart(7)
    } ${fixed(row.deliveredPerSecond, 0).padStart(13)} ${fixed(row.p50Ms).padStart(8)} ${
      fixed(row.p99Ms).padStart(8)
    }  ${row.complete}`,
  );
}
console.log("\nSwitchboard / bare delivered-per-second ratio:");
for (const [key, value] of Object.entries(summary.ratios)) {
  console.log(`  ${key}: ${fixed(value, 2)}`);
}
console.log(
  `\nCross-isolate (100 WS subscribers, 50 publishes/s): p50 ${fixed(cross.p50Ms)} ms, p99 ${
    fixed(cross.p99Ms)
  } ms (one isolate: p50 ${fixed(single.p50Ms)} ms, p99 ${fixed(single.p99Ms)} ms)`,
);
console.log(`Idle WebSocket memory at ${idleSockets} sockets (KiB per socket):`);
for (const [name, reading] of Object.entries(memory)) {
  console.log(
    `  ${name.padEnd(12)} RSS ${fixed(reading.rss)}; after a GC: RSS ${
      fixed(reading.rssAfterGc)
    }, JS heap ${fixed(reading.heapAfterGc)}`,
  );
}
console.log(`\nwritten: ${path}`);
