/**
 * Signaling relay benchmark: offer → peer latency (p50/p99) on one isolate and
 * across two isolates, and relay throughput (messages/s) with the server's CPU
 * time per message, for Switchboard, for the PeerJS server (npm `peer`, run
 * with Node through npx) and for a bare Deno relay on the PeerJS protocol
 * (bench/_relay_bare.ts: no storage), relaying the same messages between two
 * peers' signaling sockets in the same run.
 *
 * Switchboard stores every message (a KV commit per batch) before it relays it;
 * PeerJS keeps nothing unless the peer is offline. Both clients live in this
 * process, so latencies use one clock. Two storage floors are measured too, in
 * this process: the latency of one bare KV commit of an offer (the lowest
 * latency any store-then-relay server could reach on this machine) and the
 * events/s and CPU per event of KV alone writing candidates in the log's
 * largest batches. Writes bench/results/signaling.json.
 *
 *     deno run -A bench/signaling.ts [--quick]
 */
import { startServer, type TestServer } from "../tests/harness.ts";
import { cpuSeconds, fixed, spawnScript, writeResult } from "./_common.ts";
import { RawWebSocket } from "./_raw_websocket.ts";

const quick = Deno.args.includes("--quick");
const LATENCY_SAMPLES = quick ? 300 : 2000;
const WARMUP = quick ? 50 : 200;
const THROUGHPUT_MESSAGES = quick ? 2000 : 10_000;
/** About the size of a browser's data-channel offer. */
const SDP_BODY = "a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host generation 0\r\n"
  .repeat(24);

interface Stats {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    samples: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    max: sorted[sorted.length - 1]!,
  };
}

/** Two connected peers of one signaling server, as the benchmark drives them. */
interface Pair {
  name: string;
  /** Sends an offer tagged `sequence` from the sender to the receiver. */
  sendOffer(sequence: number): void;
  /** Sends an ICE candidate tagged `sequence` from the sender to the receiver. */
  sendCandidate(sequence: number): void;
  /** Called with the tag of every offer or candidate the receiver gets. */
  onReceive: (kind: "offer" | "candidate", sequence: number) => void;
  close(): Promise<void>;
}

function offerSdp(sequence: number): string {
  return `v=0\r\no=- ${sequence} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n${SDP_BODY}`;
}

function candidateLine(sequence: number): string {
  return `candidate:${sequence} 1 udp 2122260223 192.0.2.${sequence % 250} ${
    10000 + (sequence % 50000)
  } typ host`;
}

function sequenceOfSdp(sdp: string): number {
  return Number(/^o=- (\d+) /m.exec(sdp)?.[1] ?? -1);
}

function sequenceOfCandidate(line: string): number {
  return Number(/^candidate:(\d+) /.exec(line)?.[1] ?? -1);
}

/** Opens a socket with the raw client (see bench/_raw_websocket.ts for why not `WebSocket`). */
async function open(url: string, onMessage: (data: string) => void): Promise<RawWebSocket> {
  const socket = await RawWebSocket.connect(url);
  socket.onmessage = onMessage;
  return socket;
}

async function closeAll(...sockets: RawWebSocket[]): Promise<void> {
  await Promise.all(sockets.map((socket) => socket.close()));
}

async function postOnNewConnection(url: string, body: unknown): Promise<Record<string, string>> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      client,
    });
    if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
    return await response.json();
  } finally {
    client.close();
  }
}

/**
 * A Switchboard session with the creator and the joiner connected. With
 * `distinct`, reconnects the joiner until its socket is served by another
 * isolate than the creator's (each side learns its isolate from the
 * `isolate` field of `offer-stored` / `answer-stored`).
 */
async function switchboardPair(
  server: TestServer,
  options: { distinct: boolean },
): Promise<Pair & { creatorIsolate: string; joinerIsolate: string }> {
  const session = await postOnNewConnection(`${server.url}/api/transfer/create`, {});
  const joined = await postOnNewConnection(`${server.url}/api/transfer/join`, {
    code: session.code,
  });
  const url = (role: string, token: string) =>
    `${server.wsUrl}/api/ws/file-share-session?code=${session.code}&role=${role}&token=${token}`;
  let onReceive: Pair["onReceive"] = () => {};
  let creatorIsolate = "";
  let answered: (isolate: string) => void = () => {};
  const creator = await open(url("creator", session.senderToken!), (text) => {
    const frame = JSON.parse(text);
    if (frame.type === "offer-stored") creatorIsolate = frame.isolate;
  });
  creator.send(JSON.stringify({ type: "offer", offer: { type: "offer", sdp: offerSdp(-1) } }));
  const openJoiner = () =>
    open(url("joiner", joined.receiverToken!), (text) => {
      const frame = JSON.parse(text);
      if (frame.type === "answer-stored") answered(frame.isolate);
      else if (frame.type === "offer") onReceive("offer", sequenceOfSdp(frame.offer.sdp));
      else if (frame.type === "ice-candidate") {
        onReceive("candidate", sequenceOfCandidate(frame.candidate.candidate));
      }
    });
  let joiner: RawWebSocket;
  let joinerIsolate = "";
  for (let attempt = 0; attempt < 50; attempt++) {
    joiner = await openJoiner();
    const isolate = new Promise<string>((resolve) => answered = resolve);
    joiner.send(JSON.stringify({ type: "answer", answer: { type: "answer", sdp: "v=0\r\n" } }));
    joinerIsolate = await isolate;
    while (!creatorIsolate) await new Promise((resolve) => setTimeout(resolve, 5));
    if (!options.distinct || joinerIsolate !== creatorIsolate) break;
    await closeAll(joiner);
  }
  if (options.distinct && joinerIsolate === creatorIsolate) {
    throw new Error("could not place the two peers on different isolates");
  }
  const pair = {
    name: "switchboard",
    creatorIsolate,
    joinerIsolate,
    sendOffer(sequence: number) {
      creator.send(
        JSON.stringify({ type: "offer", offer: { type: "offer", sdp: offerSdp(sequence) } }),
      );
    },
    sendCandidate(sequence: number) {
      creator.send(JSON.stringify({
        type: "ice-candidate",
        candidate: { candidate: candidateLine(sequence), sdpMid: "0", sdpMLineIndex: 0 },
      }));
    },
    get onReceive() {
      return onReceive;
    },
    set onReceive(handler) {
      onReceive = handler;
    },
    close: () => closeAll(creator, joiner!),
  };
  return pair;
}

/** Pids of the PeerJS server processes of this run (matched by their unique port). */
function peerJsPids(port: number): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const args = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
      const at = args.indexOf("--port");
      if (args.some((arg) => arg.endsWith("peerjs")) && args[at + 1] === String(port)) {
        pids.push(Number(entry.name));
      }
    } catch { /* the process ended meanwhile */ }
  }
  return pids;
}

/** Starts the PeerJS server (npm `peer`) under Node and waits until it listens. */
async function startPeerJs(): Promise<{ port: number; stop(): Promise<void>; version: string }> {
  const port = 21000 + Math.floor(Math.random() * 9000);
  const child = new Deno.Command("npx", {
    args: ["-y", "peer@1.0.2", "--port", String(port), "--host", "127.0.0.1"],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let printed = "";
  const decoder = new TextDecoder();
  void (async () => {
    for await (const chunk of child.stdout) printed += decoder.decode(chunk, { stream: true });
  })();
  void (async () => {
    for await (const chunk of child.stderr) printed += decoder.decode(chunk, { stream: true });
  })();
  const deadline = Date.now() + 120_000;
  while (!printed.includes("Started PeerServer")) {
    if (Date.now() > deadline) throw new Error(`PeerJS did not start:\n${printed}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    version: "peer@1.0.2 on Node " + new TextDecoder().decode(
      new Deno.Command("node", { args: ["--version"] }).outputSync().stdout,
    ).trim(),
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      // npx runs the server as a grandchild that may outlive it: end that one by its pid.
      for (const pid of peerJsPids(port)) {
        try {
          Deno.kill(pid, "SIGTERM");
        } catch { /* gone */ }
      }
    },
  };
}

/**
 * Two PeerJS clients' signaling sockets (the PeerJS wire protocol: OPEN, OFFER,
 * CANDIDATE), on the PeerJS server or on the bare Deno relay that speaks it.
 */
async function peerJsPair(port: number, name = "peerjs"): Promise<Pair> {
  const base = `ws://127.0.0.1:${port}/peerjs?key=peerjs`;
  const suffix = crypto.randomUUID().slice(0, 8);
  const [sender, receiver] = [`sender-${suffix}`, `receiver-${suffix}`];
  let onReceive: Pair["onReceive"] = () => {};
  const opened = (id: string, handle: (frame: Record<string, unknown>) => void) =>
    new Promise<RawWebSocket>((resolve, reject) => {
      let socket: RawWebSocket | null = null;
      let isOpen = false;
      open(`${base}&id=${id}&token=${crypto.randomUUID()}`, (text) => {
        const frame = JSON.parse(text);
        if (frame.type === "OPEN") {
          isOpen = true;
          if (socket) resolve(socket);
        } else handle(frame);
      }).then((value) => {
        socket = value;
        if (isOpen) resolve(value);
      }, reject);
    });
  const receiving = await opened(receiver, (frame) => {
    const payload = frame.payload as Record<string, unknown>;
    if (frame.type === "OFFER") onReceive("offer", sequenceOfSdp(String(payload.sdp)));
    if (frame.type === "CANDIDATE") {
      onReceive("candidate", sequenceOfCandidate(String(payload.candidate)));
    }
  });
  const sending = await opened(sender, () => {});
  const connectionId = `dc_${suffix}`;
  return {
    name,
    sendOffer(sequence) {
      sending.send(JSON.stringify({
        type: "OFFER",
        dst: receiver,
        payload: {
          sdp: offerSdp(sequence),
          type: "data",
          connectionId,
          label: connectionId,
          reliable: true,
          serialization: "binary",
        },
      }));
    },
    sendCandidate(sequence) {
      sending.send(JSON.stringify({
        type: "CANDIDATE",
        dst: receiver,
        payload: {
          candidate: candidateLine(sequence),
          sdpMid: "0",
          sdpMLineIndex: 0,
          type: "data",
          connectionId,
        },
      }));
    },
    get onReceive() {
      return onReceive;
    },
    set onReceive(handler) {
      onReceive = handler;
    },
    close: () => closeAll(sending, receiving),
  };
}

/** Starts bench/_relay_bare.ts (a storage-free Deno relay on the PeerJS protocol). */
async function startBareRelay(): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const port = 21000 + Math.floor(Math.random() * 9000);
  const run = spawnScript<never>("./_relay_bare.ts", [String(port)]);
  await run.ready;
  return {
    port,
    pid: run.child.pid,
    async stop() {
      run.child.kill("SIGKILL");
      await run.child.status;
    },
  };
}

/** Sends offers one at a time and times each until the receiver has it. */
async function measureLatency(pair: Pair, samples: number, base: number): Promise<Stats> {
  const latencies: number[] = [];
  for (let index = 0; index < WARMUP + samples; index++) {
    const sequence = base + index;
    const arrived = new Promise<number>((resolve) => {
      pair.onReceive = (kind, seen) => {
        if (kind === "offer" && seen === sequence) resolve(performance.now());
      };
    });
    const sentAt = performance.now();
    pair.sendOffer(sequence);
    const at = await arrived;
    if (index >= WARMUP) latencies.push(at - sentAt);
  }
  return stats(latencies);
}

/**
 * Sends `count` candidates over every pair at once, each pair keeping at most
 * `WINDOW` in flight (sent, not yet received); messages/s until the last one
 * arrived (each pair's candidates checked in order). The window keeps a pair's
 * backlog far below the 2,000 events a `transfer:` topic retains: a receiver
 * that fell further behind would (correctly) get `too_far_behind` instead.
 */
async function measureThroughput(
  pairs: Pair[],
  count: number,
  base: number,
  serverPids: number[],
): Promise<Throughput> {
  const perPair = Math.ceil(count / pairs.length);
  const cpuBefore = cpuSeconds(serverPids);
  const started = performance.now();
  await Promise.all(pairs.map(async (pair) => {
    let received = 0;
    let inOrder = true;
    let progress: () => void = () => {};
    pair.onReceive = (kind, sequence) => {
      if (kind !== "candidate" || sequence < base) return;
      if (sequence !== base + received) inOrder = false;
      received += 1;
      progress();
    };
    const deadline = Date.now() + 120_000;
    let sent = 0;
    while (received < perPair) {
      if (Date.now() > deadline) {
        throw new Error(`${pair.name}: only ${received}/${perPair} candidates arrived`);
      }
      if (sent < perPair && sent - received < WINDOW) {
        pair.sendCandidate(base + sent);
        sent += 1;
        // Yield now and then so that receiving sockets are read while sending.
        if (sent % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
        continue;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        progress = resolve;
        timer = setTimeout(resolve, 1000);
      });
      clearTimeout(timer);
    }
    if (!inOrder) throw new Error(`${pair.name}: candidates arrived out of order`);
  }));
  const seconds = (performance.now() - started) / 1000;
  const messages = perPair * pairs.length;
  return {
    perSecond: messages / seconds,
    serverCpuMicrosPerMessage: (cpuSeconds(serverPids) - cpuBefore) * 1e6 / messages,
  };
}

/** Messages relayed per second, and the server's CPU time (all its threads) per message. */
interface Throughput {
  perSecond: number;
  serverCpuMicrosPerMessage: number;
}

interface Measured {
  latency: Stats;
  throughputOnePair: number;
  throughputManyPairs: number;
  serverCpuMicrosPerMessageOnePair: number;
  serverCpuMicrosPerMessageManyPairs: number;
}

/** Latency with one pair, then throughput with that pair and with `PAIRS` pairs at once. */
async function measure(
  makePair: () => Promise<Pair>,
  serverPids: () => number[],
): Promise<Measured> {
  const pair = await makePair();
  const latency = await measureLatency(pair, LATENCY_SAMPLES, 1);
  const one = await measureThroughput([pair], THROUGHPUT_MESSAGES, 1_000_000, serverPids());
  const pairs = [pair];
  while (pairs.length < PAIRS) pairs.push(await makePair());
  const many = await measureThroughput(pairs, THROUGHPUT_MESSAGES, 2_000_000, serverPids());
  await Promise.all(pairs.map((item) => item.close()));
  return {
    latency,
    throughputOnePair: one.perSecond,
    throughputManyPairs: many.perSecond,
    serverCpuMicrosPerMessageOnePair: one.serverCpuMicrosPerMessage,
    serverCpuMicrosPerMessageManyPairs: many.serverCpuMicrosPerMessage,
  };
}

/**
 * The floor of storing before relaying: one KV commit of an offer-sized event
 * (check the head, write the event, move the head) into a SQLite file on the
 * same disk as the server's, timed alone in this process. A relay that stores
 * first cannot beat this, whatever its code does around it.
 */
/** Runs `work` on a KV in a fresh SQLite file, removed afterwards. */
async function withFreshKv<T>(work: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const directory = await Deno.makeTempDir({ prefix: "switchboard-bench-" });
  const kv = await Deno.openKv(`${directory}/floor.sqlite3`);
  try {
    return await work(kv);
  } finally {
    kv.close();
    await Deno.remove(directory, { recursive: true });
  }
}

function measureStoreFloor(samples: number): Promise<Stats> {
  return withFreshKv(async (kv) => {
    const durations: number[] = [];
    let head = await kv.get<number>(["head"]);
    for (let index = 0; index < WARMUP + samples; index++) {
      const started = performance.now();
      const result = await kv.atomic()
        .check(head)
        .set(["events", index], { type: "offer", offer: { type: "offer", sdp: offerSdp(index) } })
        .set(["head"], index)
        .commit();
      if (!result.ok) throw new Error("the floor's commit conflicted with nothing");
      if (index >= WARMUP) durations.push(performance.now() - started);
      head = { key: ["head"], value: index, versionstamp: result.versionstamp };
    }
    return stats(durations);
  });
}

/** Events per commit in the storage throughput floor: the largest batch the topic log commits. */
const FLOOR_BATCH = 200;

/**
 * The throughput floor of storing every message: ICE-candidate events written
 * to KV as fast as KV takes them, in the largest batches the topic log makes
 * (one atomic commit per batch, with the log's key layout, expiry and trimming),
 * in this process with nothing else running. Events/s; a relay that stores
 * each message as a KV entry cannot relay faster than this.
 */
function measureStoreThroughputFloor(
  count: number,
): Promise<{ eventsPerSecond: number; cpuMicrosPerEvent: number }> {
  return withFreshKv(async (kv) => {
    const topic = "transfer:01JBENCHFLOOR0000000000000:to-receiver";
    const run = async (base: number, total: number) => {
      let head = await kv.get<number>(["topics", topic, "head"]);
      for (let offset = base; offset < base + total;) {
        const operation = kv.atomic().check(head);
        for (let index = 0; index < FLOOR_BATCH; index++) {
          offset += 1;
          const event = {
            topic,
            offset,
            epoch: "benchfloor",
            time: Date.now(),
            data: {
              type: "ice-candidate",
              candidate: { candidate: candidateLine(offset), sdpMid: "0", sdpMLineIndex: 0 },
            },
          };
          operation.set(["topics", topic, "events", offset], event, { expireIn: 600_000 });
          if (offset > 2000) operation.delete(["topics", topic, "events", offset - 2000]);
        }
        operation.set(["topics", topic, "head"], offset);
        const result = await operation.commit();
        if (!result.ok) throw new Error("the floor's commit conflicted with nothing");
        head = { key: ["topics", topic, "head"], value: offset, versionstamp: result.versionstamp };
      }
    };
    await run(0, 10 * FLOOR_BATCH);
    const cpuBefore = cpuSeconds([Deno.pid]);
    const started = performance.now();
    await run(10 * FLOOR_BATCH, count);
    return {
      eventsPerSecond: count / ((performance.now() - started) / 1000),
      cpuMicrosPerEvent: (cpuSeconds([Deno.pid]) - cpuBefore) * 1e6 / count,
    };
  });
}

const PAIRS = 16;
/** Candidates a pair may have in flight in the throughput runs. */
const WINDOW = 500;
const serverEnv = {
  CONNECTION_MESSAGES_PER_SECOND: "1000000",
  REQUESTS_PER_MINUTE: "1000000",
  CONNECTIONS_PER_ADDRESS: "100000",
  JOIN_ATTEMPTS_PER_MINUTE: "1000000",
  // Each pair relays far more than a real negotiation would store.
  TRANSFERS_PER_HOUR: "1000000",
  TRANSFER_MAX_SIGNALS: "100000000",
  TRANSFER_MAX_SIGNAL_BYTES: "100000000000",
  SIGNALING_STORAGE_BYTES: "100000000000",
  LOG_LEVEL: "error",
};
const loadBefore = Deno.loadavg();

console.error("Storage floor: one KV commit per offer …");
const storeFloor = await measureStoreFloor(LATENCY_SAMPLES);
console.error("Storage floor: KV writes of candidates in batches …");
const storeThroughputFloor = await measureStoreThroughputFloor(THROUGHPUT_MESSAGES * 2);

console.error("PeerJS: starting npx peer@1.0.2 …");
const peerjs = await startPeerJs();
let peerJsResult: Measured;
try {
  peerJsResult = await measure(() => peerJsPair(peerjs.port), () => peerJsPids(peerjs.port));
} finally {
  await peerjs.stop();
}

console.error("Bare Deno relay: bench/_relay_bare.ts …");
const bareRelay = await startBareRelay();
let bareResult: Measured;
try {
  bareResult = await measure(
    () => peerJsPair(bareRelay.port, "bare-deno"),
    () => [bareRelay.pid],
  );
} finally {
  await bareRelay.stop();
}

console.error("Switchboard: one isolate …");
let oneResult: Measured;
{
  await using server = await startServer({ isolates: 1, env: serverEnv });
  oneResult = await measure(
    () => switchboardPair(server, { distinct: false }),
    () => [server.pid],
  );
}

console.error("Switchboard: two isolates, the two peers of each session on different isolates …");
let crossResult: Measured;
const placements: { creator: string; joiner: string }[] = [];
{
  await using server = await startServer({ isolates: 2, env: serverEnv });
  crossResult = await measure(async () => {
    const pair = await switchboardPair(server, { distinct: true });
    placements.push({ creator: pair.creatorIsolate, joiner: pair.joinerIsolate });
    return pair;
  }, () => [server.pid]);
}

const targets = { oneIsolateP50Ms: 2, oneIsolateP99Ms: 10, crossIsolateP99Ms: 25 };
const verdict = {
  oneIsolateP50: oneResult.latency.p50 <= targets.oneIsolateP50Ms,
  oneIsolateP99: oneResult.latency.p99 <= targets.oneIsolateP99Ms,
  crossIsolateP99: crossResult.latency.p99 <= targets.crossIsolateP99Ms,
  latencyP50AheadOfPeerJs: oneResult.latency.p50 <= peerJsResult.latency.p50,
  /** False means no store-then-relay server can be ahead on p50 here: the commit alone is slower. */
  storeFloorP50BelowPeerJsP50: storeFloor.p50 <= peerJsResult.latency.p50,
  /** False means no relay that stores each message in KV can be ahead on throughput here. */
  storeThroughputFloorAbovePeerJs:
    storeThroughputFloor.eventsPerSecond >= peerJsResult.throughputOnePair,
  /**
   * False means a Deno relay that stores each message in KV needs more CPU per
   * message (the bare Deno relay's plus KV's) than PeerJS spends on the whole relay.
   */
  storeAndBareRelayCpuBelowPeerJs: storeThroughputFloor.cpuMicrosPerEvent +
      bareResult.serverCpuMicrosPerMessageManyPairs <=
    peerJsResult.serverCpuMicrosPerMessageManyPairs,
  latencyP99AheadOfPeerJs: oneResult.latency.p99 <= peerJsResult.latency.p99,
  throughputAheadOfPeerJs: oneResult.throughputOnePair >= peerJsResult.throughputOnePair,
  throughputManyPairsAheadOfPeerJs: Math.max(
    oneResult.throughputManyPairs,
    crossResult.throughputManyPairs,
  ) >= peerJsResult.throughputManyPairs,
  /** False means no Deno relay, storing or not, is ahead here: Deno's WebSocket and JSON alone are slower. */
  bareDenoRelayP50AheadOfPeerJs: bareResult.latency.p50 <= peerJsResult.latency.p50,
  bareDenoRelayThroughputAheadOfPeerJs:
    bareResult.throughputOnePair >= peerJsResult.throughputOnePair,
};
/** Switchboard's share of what Deno itself allows (1 = as fast as the bare Deno relay). */
const vsBareDeno = {
  latencyP50: bareResult.latency.p50 / oneResult.latency.p50,
  throughputOnePair: oneResult.throughputOnePair / bareResult.throughputOnePair,
  throughputManyPairs: oneResult.throughputManyPairs / bareResult.throughputManyPairs,
};
const result = {
  benchmark: "signaling",
  run: new Date().toISOString(),
  command: `deno run -A bench/signaling.ts${quick ? " --quick" : ""}`,
  machine: {
    cores: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
    loadAverageBefore: loadBefore,
    loadAverageAfter: Deno.loadavg(),
  },
  method: {
    latency: "an offer (≈2 KiB SDP) sent by the creator, timed until the joiner's socket " +
      "has it; one at a time, after a warm-up",
    throughput: `${THROUGHPUT_MESSAGES} ICE candidates over one pair, then over ${PAIRS} ` +
      `pairs at once, at most ${WINDOW} in flight per pair; messages/s until the last ` +
      "arrived (each pair in order)",
    storeFloor: "one KV atomic commit (check head, write an offer-sized event, move head) " +
      "to a fresh SQLite file, sequential, in the bench process: no server, no sockets",
    storeThroughputFloor: `${THROUGHPUT_MESSAGES * 2} ICE-candidate events written to a fresh ` +
      `SQLite file in atomic commits of ${FLOOR_BATCH} (the log's largest batch), with the ` +
      "log's expiry and trimming, back to back in the bench process: events/s, and the " +
      "process's CPU time (all threads) per event",
    serverCpu: "user + system CPU time of the server process(es), all threads, from " +
      "/proc/<pid>/stat over each throughput run, per relayed message",
    client: "bench/_raw_websocket.ts (one write per frame, TCP_NODELAY), in this process",
    latencySamples: LATENCY_SAMPLES,
    warmup: WARMUP,
    peerjs: peerjs.version,
    bareDenoRelay: "bench/_relay_bare.ts: the PeerJS wire protocol on Deno.serve + " +
      "Deno.upgradeWebSocket, parse and forward, nothing stored or checked",
    crossIsolatePlacements: placements,
  },
  switchboard: { oneIsolate: oneResult, crossIsolate: crossResult },
  peerjs: peerJsResult,
  bareDenoRelay: bareResult,
  vsBareDeno,
  storeFloor,
  storeThroughputFloor,
  targets,
  verdict,
};
const path = await writeResult("signaling", result);

const row = (name: string, measured: Measured) =>
  `| ${name.padEnd(33)} | ${fixed(measured.latency.p50, 2).padStart(8)} | ${
    fixed(measured.latency.p99, 2).padStart(8)
  } | ${fixed(measured.latency.max, 1).padStart(8)} | ${
    fixed(measured.throughputOnePair, 0).padStart(13)
  } | ${fixed(measured.throughputManyPairs, 0).padStart(14)} | ${
    fixed(measured.serverCpuMicrosPerMessageOnePair, 1).padStart(7)
  } | ${fixed(measured.serverCpuMicrosPerMessageManyPairs, 1).padStart(8)} |`;
console.log(
  `Signaling relay: offer → peer latency (${LATENCY_SAMPLES} samples), relay throughput ` +
    `(${THROUGHPUT_MESSAGES} ICE candidates)\n`,
);
console.log(
  `| ${
    "server".padEnd(33)
  } | p50 (ms) | p99 (ms) | max (ms) | msg/s, 1 pair | msg/s, ${PAIRS} pairs | CPU µs/msg, 1 | CPU µs/msg, ${PAIRS} |`,
);
console.log(
  `|${"-".repeat(35)}|----------|----------|----------|---------------|----------------|` +
    "---------|----------|",
);
console.log(row("Switchboard, 1 isolate", oneResult));
console.log(row("Switchboard, 2 isolates, across", crossResult));
console.log(row("PeerJS server (peer@1.0.2, Node)", peerJsResult));
console.log(row("bare Deno relay (no storage)", bareResult));
console.log(
  `\nstorage floor (one KV commit of an offer, no relay): p50 ${fixed(storeFloor.p50, 3)} ms, ` +
    `p99 ${fixed(storeFloor.p99, 3)} ms; PeerJS's whole relay p50: ${
      fixed(peerJsResult.latency.p50, 3)
    } ms`,
);
console.log(
  `storage throughput floor (KV writes alone, ${FLOOR_BATCH} per commit): ${
    fixed(storeThroughputFloor.eventsPerSecond, 0)
  } events/s at ${fixed(storeThroughputFloor.cpuMicrosPerEvent, 1)} CPU µs/event; PeerJS relays ${
    fixed(peerJsResult.throughputOnePair, 0)
  } msg/s`,
);
const mark = (ok: boolean, yes: string, no: string) => ok ? yes : no;
console.log(
  `Switchboard vs the bare Deno relay: p50 ${fixed(vsBareDeno.latencyP50, 2)}×, ` +
    `throughput ${fixed(vsBareDeno.throughputOnePair, 2)}× (1 pair), ` +
    `${fixed(vsBareDeno.throughputManyPairs, 2)}× (${PAIRS} pairs); ` +
    `bare Deno vs PeerJS: p50 ${
      mark(verdict.bareDenoRelayP50AheadOfPeerJs, "ahead", "behind")
    }, throughput ${mark(verdict.bareDenoRelayThroughputAheadOfPeerJs, "ahead", "behind")}`,
);
console.log(
  `\ntargets: p50 ≤ 2 ms ${mark(verdict.oneIsolateP50, "met", "MISSED")}, ` +
    `p99 ≤ 10 ms ${mark(verdict.oneIsolateP99, "met", "MISSED")}, ` +
    `p99 across isolates ≤ 25 ms ${mark(verdict.crossIsolateP99, "met", "MISSED")}; ` +
    `vs PeerJS: p50 ${mark(verdict.latencyP50AheadOfPeerJs, "ahead", "BEHIND")}, ` +
    `p99 ${mark(verdict.latencyP99AheadOfPeerJs, "ahead", "BEHIND")}, ` +
    `throughput 1 pair ${mark(verdict.throughputAheadOfPeerJs, "ahead", "BEHIND")}, ` +
    `${PAIRS} pairs ${mark(verdict.throughputManyPairsAheadOfPeerJs, "ahead", "BEHIND")}`,
);
console.log(`load average before/after: ${loadBefore.join(" ")} / ${Deno.loadavg().join(" ")}`);
console.log(`written: ${path}`);
