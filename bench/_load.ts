/**
 * Load generator in its own process: opens N WebSocket or SSE subscribers, prints
 * "ready", counts deliveries and their latency (each payload carries `sentAt`, a
 * wall-clock ms timestamp), and prints one JSON result line when every subscriber
 * has `expect` messages or `--timeout` passes.
 *
 *   deno run -A bench/_load.ts '{"url":"ws://...","count":1000,"mode":"ws","expect":100}'
 */
const config = JSON.parse(Deno.args[0]!) as {
  url: string | string[];
  count: number;
  mode: "ws" | "sse";
  expect: number;
  timeoutMs?: number;
  hold?: boolean;
};
const urls = Array.isArray(config.url) ? config.url : [config.url];
const latencies: number[] = [];
const counts = new Array<number>(config.count).fill(0);
let delivered = 0;
let firstAt = 0;
let lastAt = 0;
const wallNow = () => performance.timeOrigin + performance.now();

function record(index: number, text: string): void {
  let sentAt: number | undefined;
  try {
    const frame = JSON.parse(text);
    sentAt = frame.sentAt ?? frame.data?.sentAt;
  } catch {
    return;
  }
  if (typeof sentAt !== "number") return;
  const now = wallNow();
  if (!firstAt) firstAt = now;
  lastAt = now;
  latencies.push(now - sentAt);
  counts[index]! += 1;
  delivered += 1;
}

async function openWs(index: number): Promise<void> {
  const socket = new WebSocket(urls[index % urls.length]!);
  socket.onmessage = (event) => record(index, String(event.data));
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error("ws open failed"));
  });
}

async function openSse(index: number): Promise<void> {
  const response = await fetch(urls[index % urls.length]!);
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
        if (data) record(index, data);
      }
    }
  })();
}

const open = config.mode === "ws" ? openWs : openSse;
for (let start = 0; start < config.count; start += 200) {
  await Promise.all(
    Array.from(
      { length: Math.min(200, config.count - start) },
      (_, offset) => open(start + offset),
    ),
  );
}
console.log("ready");
if (config.hold) {
  // Idle sockets for memory measurement: wait until stdin closes.
  for await (const _ of Deno.stdin.readable) { /* hold */ }
  Deno.exit(0);
}
const deadline = Date.now() + (config.timeoutMs ?? 120_000);
while (delivered < config.count * config.expect && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
latencies.sort((a, b) => a - b);
const pick = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
console.log(JSON.stringify({
  delivered,
  expected: config.count * config.expect,
  complete: counts.every((count) => count >= config.expect),
  firstAt,
  lastAt,
  p50: pick(0.5),
  p99: pick(0.99),
  max: latencies[latencies.length - 1] ?? NaN,
}));
Deno.exit(0);
