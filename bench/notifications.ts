/**
 * Notifications benchmark: publish → deliver latency (p50/p99) and delivery
 * throughput to 1,000 users × 2 connections, over WebSocket and SSE, for
 * Switchboard (one isolate, real KV file) and for a bare `Deno.serve` loop that
 * routes the same JSON frames to the same connections with no storage, no auth
 * and no ordering. Each server and the client load run in their own process;
 * results are ratios measured in the same run.
 *
 *     deno run -A bench/notifications.ts [--users=1000] [--samples=200] [--rate=40] [--rounds=10]
 *
 * Writes bench/results/notifications.json and prints a table.
 */
import { startServer, TEST_API_KEY, type TestServer } from "../tests/harness.ts";

type Transport = "ws" | "sse";
type Target = "bare" | "switchboard";

interface ClientConfig {
  transport: Transport;
  /** One URL per connection. */
  urls: string[];
  expectLatency: number;
  expectThroughput: number;
  timeoutMs: number;
}

interface ClientResult {
  latency: { count: number; p50: number; p99: number; max: number };
  throughput: { count: number; firstSentAt: number; lastAt: number; perSecond: number };
  complete: boolean;
}

const wallNow = () => performance.timeOrigin + performance.now();

function argument(name: string, fallback: number): number {
  const found = Deno.args.find((arg) => arg.startsWith(`--${name}=`));
  return found ? Number(found.split("=")[1]) : fallback;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

// ---------------------------------------------------------------------------
// Mode 1: the bare baseline server (its own process).
// ---------------------------------------------------------------------------
function runBareServer(port: number): void {
  const encoder = new TextEncoder();
  const sockets = new Map<string, Set<WebSocket>>();
  const streams = new Map<string, Set<ReadableStreamDefaultController<Uint8Array>>>();
  let offset = 0;
  const add = <T>(map: Map<string, Set<T>>, key: string, value: T) => {
    let set = map.get(key);
    if (!set) map.set(key, set = new Set());
    set.add(value);
  };
  Deno.serve({ port, hostname: "127.0.0.1", onListen: () => console.log("ready") }, async (req) => {
    const url = new URL(req.url);
    const user = url.searchParams.get("user") ?? "";
    if (url.pathname === "/ws") {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onopen = () => add(sockets, user, socket);
      socket.onclose = () => sockets.get(user)?.delete(socket);
      return response;
    }
    if (url.pathname === "/sse") {
      let own!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          own = controller;
          add(streams, user, controller);
          controller.enqueue(encoder.encode(": connected\n\n"));
        },
        cancel: () => void streams.get(user)?.delete(own),
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    if (url.pathname === "/publish" && req.method === "POST") {
      const body = await req.json() as { userId?: string; userIds?: string[]; data: unknown };
      const ids: string[] = [];
      for (const userId of body.userIds ?? [body.userId!]) {
        offset += 1;
        const id = `n${offset}`;
        ids.push(id);
        const frame = JSON.stringify({
          id,
          type: "bench.ping",
          timestamp: new Date().toISOString(),
          requiresAck: false,
          data: body.data,
          cursor: `bare-${offset}`,
        });
        for (const socket of sockets.get(userId) ?? []) {
          if (socket.readyState === WebSocket.OPEN) socket.send(frame);
        }
        const chunk = encoder.encode(`id: bare-${offset}\nevent: bench.ping\ndata: ${frame}\n\n`);
        for (const stream of streams.get(userId) ?? []) stream.enqueue(chunk);
      }
      return Response.json({ ids }, { status: 202 });
    }
    return new Response("ok");
  });
}

// ---------------------------------------------------------------------------
// Mode 2: the client load (its own process): N connections, latencies, counts.
// ---------------------------------------------------------------------------
async function runClients(config: ClientConfig): Promise<void> {
  const latencies: number[] = [];
  let throughputCount = 0;
  let firstSentAt = Infinity;
  let lastAt = 0;
  let latencyCount = 0;

  function record(text: string): void {
    let frame: { data?: { sentAt?: number; phase?: string } };
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    const data = frame.data;
    if (!data || typeof data.sentAt !== "number") return;
    const now = wallNow();
    if (data.phase === "latency") {
      latencies.push(now - data.sentAt);
      latencyCount += 1;
    } else if (data.phase === "throughput") {
      throughputCount += 1;
      firstSentAt = Math.min(firstSentAt, data.sentAt);
      lastAt = Math.max(lastAt, now);
    }
  }

  async function openWs(url: string): Promise<void> {
    const socket = new WebSocket(url);
    socket.onmessage = (event) => record(String(event.data));
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`could not open ${url.replace(/token=[^&]+/, "")}`));
    });
  }

  async function openSseStream(url: string): Promise<void> {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`SSE answered ${response.status}`);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    void (async () => {
      let buffer = "";
      while (true) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let split;
        while ((split = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          const data = block.split("\n").filter((line) => line.startsWith("data: "))
            .map((line) => line.slice(6)).join("\n");
          if (data) record(data);
        }
      }
    })();
  }

  const open = config.transport === "ws" ? openWs : openSseStream;
  for (let start = 0; start < config.urls.length; start += 100) {
    await Promise.all(config.urls.slice(start, start + 100).map(open));
  }
  console.log("ready");
  const deadline = Date.now() + config.timeoutMs;
  while (
    (latencyCount < config.expectLatency || throughputCount < config.expectThroughput) &&
    Date.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  latencies.sort((a, b) => a - b);
  const result: ClientResult = {
    latency: {
      count: latencyCount,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies.at(-1) ?? NaN,
    },
    throughput: {
      count: throughputCount,
      firstSentAt,
      lastAt,
      perSecond: throughputCount / ((lastAt - firstSentAt) / 1000),
    },
    complete: latencyCount >= config.expectLatency && throughputCount >= config.expectThroughput,
  };
  console.log(JSON.stringify(result));
  Deno.exit(0);
}

// ---------------------------------------------------------------------------
// Mode 3: the orchestrator.
// ---------------------------------------------------------------------------
function spawnSelf(args: string[]): {
  child: Deno.ChildProcess;
  ready: Promise<void>;
  result: Promise<ClientResult | null>;
} {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => markReady = resolve);
  const result = (async () => {
    let last = "";
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let index;
      while ((index = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, index).trim();
        buffer = buffer.slice(index + 1);
        if (line === "ready") markReady();
        else if (line.startsWith("{")) last = line;
      }
    }
    await child.status;
    return last ? JSON.parse(last) as ClientResult : null;
  })();
  return { child, ready, result };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

interface RunOptions {
  users: number;
  samples: number;
  rate: number;
  rounds: number;
}

interface Measured {
  p50Ms: number;
  p99Ms: number;
  deliveriesPerSecond: number;
  latencyDeliveries: number;
  throughputDeliveries: number;
  complete: boolean;
}

async function measure(
  transport: Transport,
  target: Target,
  options: RunOptions,
  endpoints: {
    url: (user: string) => string;
    publish: (body: Record<string, unknown>) => Promise<void>;
  },
): Promise<Measured> {
  const users = Array.from({ length: options.users }, (_, index) => `u${index}`);
  const urls = users.flatMap((user) => [endpoints.url(user), endpoints.url(user)]);
  const config: ClientConfig = {
    transport,
    urls,
    expectLatency: options.samples * 2,
    expectThroughput: options.rounds * options.users * 2,
    timeoutMs: 180_000,
  };
  const file = await Deno.makeTempFile({ prefix: "bench-clients-", suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify(config));
  const clients = spawnSelf(["--clients", file]);
  await clients.ready;
  await new Promise((resolve) => setTimeout(resolve, 500));
  // Latency: paced publishes, each to one user (two connections each).
  const interval = 1000 / options.rate;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let sample = 0; sample < options.samples; sample++) {
    const wait = start + sample * interval - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const user = users[Math.floor(Math.random() * users.length)]!;
    inFlight.push(endpoints.publish({
      userId: user,
      data: { sentAt: wallNow(), phase: "latency", sample },
    }));
  }
  await Promise.all(inFlight);
  await new Promise((resolve) => setTimeout(resolve, 500));
  // Throughput: every user, as fast as the server accepts, `rounds` times.
  for (let round = 0; round < options.rounds; round++) {
    await endpoints.publish({
      userIds: users,
      data: { sentAt: wallNow(), phase: "throughput", round },
    });
  }
  const result = await clients.result;
  await Deno.remove(file).catch(() => {});
  if (!result) throw new Error(`${target}/${transport}: the client process gave no result`);
  if (!result.complete) {
    console.error(
      `warning: ${target}/${transport} incomplete: ${result.latency.count}/${config.expectLatency} ` +
        `latency, ${result.throughput.count}/${config.expectThroughput} throughput deliveries`,
    );
  }
  return {
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    deliveriesPerSecond: result.throughput.perSecond,
    latencyDeliveries: result.latency.count,
    throughputDeliveries: result.throughput.count,
    complete: result.complete,
  };
}

async function orchestrate(): Promise<void> {
  const options: RunOptions = {
    users: argument("users", 1000),
    samples: argument("samples", 200),
    rate: argument("rate", 40),
    rounds: argument("rounds", 10),
  };
  console.log(
    `notifications bench: ${options.users} users × 2 connections, ${options.samples} latency ` +
      `samples at ${options.rate}/s, ${options.rounds} rounds to every user`,
  );

  const barePort = freePort();
  const bare = spawnSelf(["--bare", String(barePort)]);
  await bare.ready;
  const bareUrl = `http://127.0.0.1:${barePort}`;
  const server: TestServer = await startServer({
    env: {
      NOTIFY_EXTRA_TYPES: "bench.ping",
      NOTIFY_USER_PER_MINUTE: "1000000",
      NOTIFY_PUBLISHER_PER_MINUTE: "1000000",
      REQUESTS_PER_MINUTE: "1000000",
      LOG_LEVEL: "error",
    },
  });
  const results: Record<Transport, Record<Target, Measured>> = {
    ws: {} as Record<Target, Measured>,
    sse: {} as Record<Target, Measured>,
  };
  try {
    const tokens = new Map<string, string>();
    for (let index = 0; index < options.users; index += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, options.users - index) }, async (_, k) => {
          const user = `u${index + k}`;
          const response = await fetch(`${server.url}/api/tokens`, {
            method: "POST",
            headers: {
              Authorization: `Bearer ${TEST_API_KEY}`,
              "Content-Type": "application/json",
            },
            body: JSON.stringify({ userId: user }),
          });
          tokens.set(user, (await response.json()).token);
        }),
      );
    }
    const barePublish = async (body: Record<string, unknown>) => {
      const response = await fetch(`${bareUrl}/publish`, {
        method: "POST",
        body: JSON.stringify(body),
      });
      await response.body?.cancel();
    };
    const switchboardPublish = async (body: Record<string, unknown>) => {
      const response = await fetch(`${server.url}/api/notifications/publish`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TEST_API_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify({ type: "bench.ping", ...body }),
      });
      if (response.status !== 202) throw new Error(`publish: ${await response.text()}`);
      await response.body?.cancel();
    };
    for (const transport of ["ws", "sse"] as const) {
      results[transport].bare = await measure(transport, "bare", options, {
        url: (user) =>
          transport === "ws"
            ? `ws://127.0.0.1:${barePort}/ws?user=${user}`
            : `${bareUrl}/sse?user=${user}`,
        publish: barePublish,
      });
      results[transport].switchboard = await measure(transport, "switchboard", options, {
        url: (user) =>
          transport === "ws"
            ? `${server.wsUrl}/api/ws/notifications?token=${tokens.get(user)}`
            : `${server.url}/api/notifications/stream?token=${tokens.get(user)}`,
        publish: switchboardPublish,
      });
    }
  } finally {
    await server.stop();
    bare.child.kill("SIGTERM");
    await bare.child.status;
  }

  const ratios = (transport: Transport) => {
    const { bare: baseline, switchboard } = results[transport];
    return {
      throughput: switchboard.deliveriesPerSecond / baseline.deliveriesPerSecond,
      p50: switchboard.p50Ms / baseline.p50Ms,
      p99: switchboard.p99Ms / baseline.p99Ms,
    };
  };
  const output = {
    benchmark: "notifications",
    command:
      `deno run -A bench/notifications.ts --users=${options.users} --samples=${options.samples} ` +
      `--rate=${options.rate} --rounds=${options.rounds}`,
    date: new Date().toISOString(),
    machine: {
      cpus: navigator.hardwareConcurrency,
      deno: Deno.version.deno,
      os: Deno.build.os,
      loadAverageAtEnd: Deno.loadavg()[0],
    },
    setup: {
      ...options,
      connectionsPerUser: 2,
      switchboard: "one isolate (deno serve), KV in a temp SQLite file; per recipient: " +
        "validate, two rate-limit counters, store the record and its indexes, append to the " +
        "user topic, deliver to both connections, mark delivered",
      baseline: "bare Deno.serve in its own process: per-user routing of the same JSON frame, " +
        "nothing stored",
    },
    results: {
      ws: { ...results.ws, ratios: ratios("ws") },
      sse: { ...results.sse, ratios: ratios("sse") },
    },
  };
  const path = new URL("./results/notifications.json", import.meta.url).pathname;
  await Deno.mkdir(new URL("./results/", import.meta.url).pathname, { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(output, null, 2) + "\n");

  const fixed = (value: number, digits = 1) =>
    Number.isFinite(value) ? value.toFixed(digits) : "n/a";
  const rows = [
    ["transport", "target", "p50 ms", "p99 ms", "deliveries/s", "complete"],
  ];
  for (const transport of ["ws", "sse"] as const) {
    for (const target of ["bare", "switchboard"] as const) {
      const measured = results[transport][target];
      rows.push([
        transport,
        target,
        fixed(measured.p50Ms, 2),
        fixed(measured.p99Ms, 2),
        fixed(measured.deliveriesPerSecond, 0),
        String(measured.complete),
      ]);
    }
    const ratio = ratios(transport);
    rows.push([
      transport,
      "ratio sb/bare",
      `${fixed(ratio.p50, 2)}×`,
      `${fixed(ratio.p99, 2)}×`,
      `${fixed(ratio.throughput, 3)}×`,
      "",
    ]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) {
    console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join("  "));
  }
  console.log(`wrote ${path}`);
}

if (import.meta.main) {
  if (Deno.args[0] === "--bare") {
    runBareServer(Number(Deno.args[1]));
  } else if (Deno.args[0] === "--clients") {
    await runClients(JSON.parse(await Deno.readTextFile(Deno.args[1]!)));
  } else {
    await orchestrate();
    Deno.exit(0);
  }
}
