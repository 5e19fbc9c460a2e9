/**
 * Notifications benchmark, in two passes:
 *
 * - **local**: publish → deliver latency (p50/p99) and delivery throughput to
 *   1,000 users × 2 connections, over WebSocket and SSE, for Switchboard (one
 *   isolate, real KV file) and for a bare `Deno.serve` loop that routes the same
 *   JSON frames to the same connections with no storage, no auth and no
 *   ordering; results are ratios measured in the same run.
 * - **far region**: the same latency and fan-out on 2 isolates with
 *   `SIMULATE_KV_LATENCY=94/7` (Deno KV on Deno Deploy seen from Frankfurt),
 *   latencies also in KV round trips (ms ÷ 94); the time until every connection
 *   has a notification published to 1,000 users × 2 connections; and to 10,000
 *   users of whom 1,000 are connected.
 *
 * Each server and the client load run in their own process.
 *
 *     deno run -A bench/notifications.ts [--only=local|far] [--users=1000] [--samples=200]
 *                                        [--rate=40] [--rounds=10] [--big=10000]
 *
 * Writes bench/results/notifications.json and prints a table.
 */
import { startServer, TEST_API_KEY, type TestServer } from "../tests/harness.ts";
import { settle, writeResult } from "./_common.ts";

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
  /** Per throughput round: deliveries, and ms from its publish request to its last delivery. */
  rounds: { round: number; count: number; allDeliveredMs: number }[];
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
        // As Switchboard sends notifications by default: unnamed events (EventSource `onmessage`).
        const chunk = encoder.encode(`id: bare-${offset}\ndata: ${frame}\n\n`);
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
  const rounds = new Map<number, { count: number; sentAt: number; lastAt: number }>();

  function record(text: string): void {
    let frame: { data?: { sentAt?: number; phase?: string; round?: number } };
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
      const round = data.round ?? 0;
      const seen = rounds.get(round) ?? { count: 0, sentAt: data.sentAt, lastAt: 0 };
      seen.count += 1;
      seen.lastAt = Math.max(seen.lastAt, now);
      rounds.set(round, seen);
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

  /**
   * One SSE stream read straight from a TCP connection (HTTP/1.1 by hand): 2,000
   * `fetch` body streams cost this load process about four times the CPU of 2,000
   * WebSockets (~200 ms per fan-out round, measured), and it shares the 2 cores
   * with the servers it measures. Only `data:` lines are read: the server writes
   * each event as one chunk of its chunked body, so chunk-size lines fall between
   * events, never inside a `data:` line.
   */
  async function openSseStream(url: string): Promise<void> {
    const target = new URL(url);
    const connection = await Deno.connect({
      hostname: target.hostname,
      port: Number(target.port),
    });
    await connection.write(
      new TextEncoder().encode(
        `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
          "Accept: text/event-stream\r\n\r\n",
      ),
    );
    const decoder = new TextDecoder();
    const chunk = new Uint8Array(64 * 1024);
    let buffer = "";
    // The status line and headers.
    while (!buffer.includes("\r\n\r\n")) {
      const read = await connection.read(chunk);
      if (read === null) throw new Error("SSE: the connection closed before the headers");
      buffer += decoder.decode(chunk.subarray(0, read), { stream: true });
    }
    const status = Number(buffer.slice(9, 12));
    if (status !== 200) throw new Error(`SSE answered ${status}`);
    buffer = buffer.slice(buffer.indexOf("\r\n\r\n") + 4);
    void (async () => {
      while (true) {
        let at;
        while ((at = buffer.indexOf("data: ")) >= 0) {
          const end = buffer.indexOf("\n", at);
          if (end < 0) break;
          record(buffer.slice(at + 6, end));
          buffer = buffer.slice(end + 1);
        }
        if (at < 0) buffer = buffer.slice(-6); // keep a "data: " split between reads
        const read = await connection.read(chunk).catch(() => null);
        if (read === null) return;
        buffer += decoder.decode(chunk.subarray(0, read), { stream: true });
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
    rounds: [...rounds].sort(([a], [b]) => a - b).map(([round, seen]) => ({
      round,
      count: seen.count,
      allDeliveredMs: seen.lastAt - seen.sentAt,
    })),
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
  /** Recipients of the big fan-out (far pass); the first `users` of them are connected, once each. */
  big: number;
}

interface Measured {
  p50Ms: number;
  p99Ms: number;
  deliveriesPerSecond: number;
  latencyDeliveries: number;
  throughputDeliveries: number;
  /** Per round: ms from the publish request to the last connection having it. */
  roundsAllDeliveredMs: number[];
  /** Per round: ms from the publish request to its 202 (everything stored). */
  roundsStoredMs: number[];
  complete: boolean;
}

/** Who gets what in one measurement. */
interface Audience {
  /** Users with connections. */
  connected: string[];
  connectionsPerUser: number;
  /** Recipients of each throughput round (default: the connected users). */
  recipients?: string[];
  /** Latency samples (0: none). */
  samples: number;
  rounds: number;
}

async function measure(
  transport: Transport,
  target: string,
  options: { rate: number },
  audience: Audience,
  endpoints: {
    url: (user: string) => string;
    publish: (body: Record<string, unknown>) => Promise<void>;
  },
): Promise<Measured> {
  const { connected, connectionsPerUser } = audience;
  const recipients = audience.recipients ?? connected;
  const urls = connected.flatMap((user) =>
    Array.from({ length: connectionsPerUser }, () => endpoints.url(user))
  );
  const config: ClientConfig = {
    transport,
    urls,
    expectLatency: audience.samples * connectionsPerUser,
    expectThroughput: audience.rounds * connected.length * connectionsPerUser,
    timeoutMs: 180_000,
  };
  const file = await Deno.makeTempFile({ prefix: "bench-clients-", suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify(config));
  const clients = spawnSelf(["--clients", file]);
  await clients.ready;
  await new Promise((resolve) => setTimeout(resolve, 500));
  // Latency: paced publishes, each to one user (all of their connections).
  const interval = 1000 / options.rate;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let sample = 0; sample < audience.samples; sample++) {
    const wait = start + sample * interval - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const user = connected[Math.floor(Math.random() * connected.length)]!;
    inFlight.push(endpoints.publish({
      userId: user,
      data: { sentAt: wallNow(), phase: "latency", sample },
    }));
  }
  await Promise.all(inFlight);
  if (audience.samples > 0) await new Promise((resolve) => setTimeout(resolve, 500));
  // Throughput: every recipient, as fast as the server accepts, `rounds` times.
  const roundsStoredMs: number[] = [];
  for (let round = 0; round < audience.rounds; round++) {
    const sentAt = wallNow();
    await endpoints.publish({
      userIds: recipients,
      data: { sentAt, phase: "throughput", round },
    });
    roundsStoredMs.push(wallNow() - sentAt);
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
    roundsAllDeliveredMs: result.rounds.map((round) => round.allDeliveredMs),
    roundsStoredMs,
    complete: result.complete,
  };
}

/** Starts Switchboard for the benchmark and mints a user token per user. */
async function switchboard(
  isolates: number,
  users: number,
  env: Record<string, string>,
): Promise<{
  server: TestServer;
  tokens: Map<string, string>;
  publish: (body: Record<string, unknown>) => Promise<void>;
}> {
  const server: TestServer = await startServer({
    isolates,
    env: {
      NOTIFY_EXTRA_TYPES: "bench.ping",
      NOTIFY_USER_PER_MINUTE: "1000000",
      NOTIFY_PUBLISHER_PER_MINUTE: "1000000",
      NOTIFY_MAX_RECIPIENTS: "10000",
      REQUESTS_PER_MINUTE: "1000000",
      CONNECTIONS_PER_ADDRESS: "100000",
      LOG_LEVEL: "error",
      ...env,
    },
  });
  const tokens = new Map<string, string>();
  for (let index = 0; index < users; index += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, users - index) }, async (_, k) => {
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
  const publish = async (body: Record<string, unknown>) => {
    const response = await fetch(`${server.url}/api/notifications/publish`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TEST_API_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ type: "bench.ping", ...body }),
    });
    if (response.status !== 202) throw new Error(`publish: ${await response.text()}`);
    await response.body?.cancel();
  };
  return { server, tokens, publish };
}

function streamUrl(server: TestServer, transport: Transport, token: string): string {
  return transport === "ws"
    ? `${server.wsUrl}/api/ws/notifications?token=${token}`
    : `${server.url}/api/notifications/stream?token=${token}`;
}

/** The local pass: Switchboard on one isolate against the bare loop, as ratios. */
async function localPass(options: RunOptions) {
  const users = Array.from({ length: options.users }, (_, index) => `u${index}`);
  const audience: Audience = {
    connected: users,
    connectionsPerUser: 2,
    samples: options.samples,
    rounds: options.rounds,
  };
  const barePort = freePort();
  const bare = spawnSelf(["--bare", String(barePort)]);
  await bare.ready;
  const bareUrl = `http://127.0.0.1:${barePort}`;
  const ours = await switchboard(1, options.users, {});
  const results: Record<Transport, Record<Target, Measured>> = {
    ws: {} as Record<Target, Measured>,
    sse: {} as Record<Target, Measured>,
  };
  try {
    const barePublish = async (body: Record<string, unknown>) => {
      const response = await fetch(`${bareUrl}/publish`, {
        method: "POST",
        body: JSON.stringify(body),
      });
      await response.body?.cancel();
    };
    for (const transport of ["ws", "sse"] as const) {
      results[transport].bare = await measure(transport, "bare", options, audience, {
        url: (user) =>
          transport === "ws"
            ? `ws://127.0.0.1:${barePort}/ws?user=${user}`
            : `${bareUrl}/sse?user=${user}`,
        publish: barePublish,
      });
      results[transport].switchboard = await measure(transport, "switchboard", options, audience, {
        url: (user) => streamUrl(ours.server, transport, ours.tokens.get(user)!),
        publish: ours.publish,
      });
    }
  } finally {
    await ours.server.stop();
    bare.child.kill("SIGTERM");
    await bare.child.status;
  }
  const ratios = (transport: Transport) => {
    const { bare: baseline, switchboard: measured } = results[transport];
    return {
      throughput: measured.deliveriesPerSecond / baseline.deliveriesPerSecond,
      p50: measured.p50Ms / baseline.p50Ms,
      p99: measured.p99Ms / baseline.p99Ms,
    };
  };
  return {
    setup: {
      users: options.users,
      connectionsPerUser: 2,
      switchboard: "one isolate (deno serve), KV in a temp SQLite file; per recipient: " +
        "validate, rate-limit counters, one commit of the record, its indexes and the event " +
        "on the user topic (many users per commit), deliver to both connections, mark delivered",
      baseline: "bare Deno.serve in its own process: per-user routing of the same JSON frame, " +
        "nothing stored",
    },
    ws: { ...results.ws, ratios: ratios("ws") },
    sse: { ...results.sse, ratios: ratios("sse") },
  };
}

const FAR = { strongMs: 94, eventualMs: 7 };

/** The far-region pass: 2 isolates, every KV operation as slow as Deno KV from Frankfurt. */
async function farPass(options: RunOptions) {
  const users = Array.from({ length: options.users }, (_, index) => `u${index}`);
  const ours = await switchboard(2, options.users, {
    SIMULATE_KV_LATENCY: `${FAR.strongMs}/${FAR.eventualMs}`,
  });
  try {
    const result: Record<string, Measured> = {};
    for (const transport of ["ws", "sse"] as const) {
      result[transport] = await measure(transport, "far", options, {
        connected: users,
        connectionsPerUser: 2,
        samples: options.samples,
        rounds: Math.min(options.rounds, 5),
      }, {
        url: (user) => streamUrl(ours.server, transport, ours.tokens.get(user)!),
        publish: ours.publish,
      });
    }
    const everyone = Array.from({ length: options.big }, (_, index) => `u${index}`);
    result.big = await measure("ws", "far-big", options, {
      connected: users,
      connectionsPerUser: 1,
      recipients: everyone,
      samples: 0,
      rounds: 3,
    }, {
      url: (user) => streamUrl(ours.server, "ws", ours.tokens.get(user)!),
      publish: ours.publish,
    });
    return {
      setup: {
        isolates: 2,
        kvLatency: `SIMULATE_KV_LATENCY=${FAR.strongMs}/${FAR.eventualMs}`,
        latency: `${options.users} users × 2 connections, one user per publish`,
        fanOut: `${options.users} users × 2 connections per publish`,
        big: `${options.big} recipients per publish, ${options.users} of them connected once`,
      },
      ws: { ...result.ws!, roundTrips: roundTrips(result.ws!) },
      sse: { ...result.sse!, roundTrips: roundTrips(result.sse!) },
      big: result.big!,
    };
  } finally {
    await ours.server.stop();
  }
}

function roundTrips(measured: Measured): { p50: number; p99: number } {
  return { p50: measured.p50Ms / FAR.strongMs, p99: measured.p99Ms / FAR.strongMs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function orchestrate(): Promise<void> {
  const options: RunOptions = {
    users: argument("users", 1000),
    samples: argument("samples", 200),
    rate: argument("rate", 40),
    rounds: argument("rounds", 10),
    big: argument("big", 10_000),
  };
  const only = Deno.args.find((arg) => arg.startsWith("--only="))?.slice("--only=".length);
  console.log(
    `notifications bench: ${options.users} users × 2 connections, ${options.samples} latency ` +
      `samples at ${options.rate}/s, ${options.rounds} rounds to every user; far region: ` +
      `2 isolates, KV ${FAR.strongMs}/${FAR.eventualMs} ms, and ${options.big} recipients`,
  );
  const local = only === "far" ? null : await localPass(options);
  if (local && only !== "local") await settle();
  const far = only === "local" ? null : await farPass(options);
  const output = {
    benchmark: "notifications",
    command: `deno run -A bench/notifications.ts ${Deno.args.join(" ")}`.trim(),
    date: new Date().toISOString(),
    machine: {
      cpus: navigator.hardwareConcurrency,
      deno: Deno.version.deno,
      os: Deno.build.os,
      loadAverageAtEnd: Deno.loadavg()[0],
    },
    options,
    local,
    far,
    targets: {
      localThroughputRatio: "≥ 0.25× the bare loop (WebSocket)",
      farLatency: "p50 ≤ 120 ms, p99 ≤ 250 ms (WebSocket and SSE)",
      farFanOut: `every connection within 500 ms (${options.users} users × 2)`,
      farBig: `every connected socket within 2 s (${options.big} recipients)`,
    },
    met: {
      localThroughputRatio: local ? local.ws.ratios.throughput >= 0.25 : null,
      farLatency: far
        ? [far.ws, far.sse].every((measured) => measured.p50Ms <= 120 && measured.p99Ms <= 250)
        : null,
      farFanOut: far
        ? Math.max(...far.ws.roundsAllDeliveredMs, ...far.sse.roundsAllDeliveredMs) <= 500
        : null,
      farBig: far ? Math.max(...far.big.roundsAllDeliveredMs) <= 2000 : null,
    },
  };
  const path = await writeResult("notifications", output);

  const fixed = (value: number, digits = 1) =>
    Number.isFinite(value) ? value.toFixed(digits) : "n/a";
  const table = (rows: string[][]) => {
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    for (const row of rows) {
      console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join("  "));
    }
  };
  if (local) {
    console.log("\nLocal (KV in a SQLite file, one isolate):");
    const rows = [["transport", "target", "p50 ms", "p99 ms", "deliveries/s", "complete"]];
    for (const transport of ["ws", "sse"] as const) {
      for (const target of ["bare", "switchboard"] as const) {
        const measured = local[transport][target];
        rows.push([
          transport,
          target,
          fixed(measured.p50Ms, 2),
          fixed(measured.p99Ms, 2),
          fixed(measured.deliveriesPerSecond, 0),
          String(measured.complete),
        ]);
      }
      const ratio = local[transport].ratios;
      rows.push([
        transport,
        "ratio sb/bare",
        `${fixed(ratio.p50, 2)}×`,
        `${fixed(ratio.p99, 2)}×`,
        `${fixed(ratio.throughput, 3)}×`,
        "",
      ]);
    }
    table(rows);
  }
  if (far) {
    console.log(
      `\nFar region (2 isolates, SIMULATE_KV_LATENCY=${FAR.strongMs}/${FAR.eventualMs}; ` +
        `RT = ms ÷ ${FAR.strongMs}):`,
    );
    const rows = [[
      "case",
      "p50 ms (RT)",
      "p99 ms (RT)",
      "all delivered ms: median / max",
      "complete",
    ]];
    for (const name of ["ws", "sse"] as const) {
      const measured = far[name];
      rows.push([
        `${name}: 1 user; ${options.users} users × 2`,
        `${fixed(measured.p50Ms)} (${fixed(measured.roundTrips.p50, 2)})`,
        `${fixed(measured.p99Ms)} (${fixed(measured.roundTrips.p99, 2)})`,
        `${fixed(median(measured.roundsAllDeliveredMs), 0)} / ${
          fixed(Math.max(...measured.roundsAllDeliveredMs), 0)
        }`,
        String(measured.complete),
      ]);
    }
    rows.push([
      `ws: ${options.big} users, ${options.users} connected`,
      "",
      "",
      `${fixed(median(far.big.roundsAllDeliveredMs), 0)} / ${
        fixed(Math.max(...far.big.roundsAllDeliveredMs), 0)
      }`,
      String(far.big.complete),
    ]);
    table(rows);
  }
  console.log(`\ntargets met: ${JSON.stringify(output.met)}`);
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
