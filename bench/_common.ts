/**
 * @module
 * Shared pieces of the benchmarks: processes, memory readings, percentiles,
 * result files.
 */

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Resident memory of a process in KiB (Linux /proc). */
export function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** CPU time (user + system, all threads) the processes `pids` have used so far, in seconds. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces) start at "state"; utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100; // USER_HZ, which Linux fixes at 100 for /proc
}

/** A child process that prints "ready" when it is ready and a JSON line as its result. */
export interface ChildRun<T> {
  ready: Promise<void>;
  result: Promise<T>;
  child: Deno.ChildProcess;
  stdin: WritableStreamDefaultWriter<Uint8Array> | null;
}

/** Spawns `deno run -A <script> <args>` and reads its "ready" line and its final JSON line. */
export function spawnScript<T>(
  script: string,
  args: string[],
  options: { stdin?: boolean; denoFlags?: string[] } = {},
): ChildRun<T> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(options.denoFlags ?? []),
      new URL(script, import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: options.stdin ? "piped" : "null",
  }).spawn();
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => markReady = resolve);
  const result = (async () => {
    let last = "";
    const lines = child.stdout.pipeThrough(new TextDecoderStream());
    let buffer = "";
    for await (const chunk of lines) {
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
    return JSON.parse(last || "null") as T;
  })();
  return { ready, result, child, stdin: options.stdin ? child.stdin.getWriter() : null };
}

/** Sends `count` POSTs at most `concurrency` at a time, or paced at `ratePerSecond`. */
export async function publishMany(
  count: number,
  send: (sequence: number) => Promise<void>,
  options: { concurrency?: number; ratePerSecond?: number } = {},
): Promise<void> {
  if (options.ratePerSecond) {
    const interval = 1000 / options.ratePerSecond;
    const start = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let sequence = 0; sequence < count; sequence++) {
      const due = start + sequence * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      inFlight.push(send(sequence));
    }
    await Promise.all(inFlight);
    return;
  }
  let next = 0;
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, async () => {
    while (next < count) await send(next++);
  }));
}

/**
 * Writes a result file under bench/results/; returns its path from the repository's root
 * (what the summary prints: no machine's own folders in the repository).
 */
export async function writeResult(name: string, result: unknown): Promise<string> {
  await Deno.mkdir(new URL("./results/", import.meta.url).pathname, { recursive: true });
  const url = new URL(`./results/${name}.json`, import.meta.url);
  await Deno.writeTextFile(url, JSON.stringify(result, null, 2) + "\n");
  return `bench/results/${name}.json`;
}

/** Formats a number for tables. */
export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

/** Busy and total CPU time of the whole machine so far (Linux: /proc/stat), or null. */
function machineCpu(): { busy: number; total: number } | null {
  try {
    const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0]!.trim().split(/\s+/)
      .slice(1).map(Number);
    const idle = fields[3]! + (fields[4] ?? 0);
    const total = fields.reduce((sum, value) => sum + value, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/**
 * Waits until the machine is quiet (under 15 % of its CPU busy over one second),
 * at most a minute: what the previous benchmark left behind (a server shutting
 * down 10,000 sockets, the kernel closing them) would otherwise count against
 * the next one. Says how long it waited.
 */
export async function settle(): Promise<void> {
  const started = performance.now();
  let before = machineCpu();
  if (!before) return;
  while (performance.now() - started < 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = machineCpu()!;
    const busy = (after.busy - before.busy) / Math.max(1, after.total - before.total);
    before = after;
    if (busy < 0.15) break;
  }
  console.log(
    `(waited ${((performance.now() - started) / 1000).toFixed(0)} s for a quiet machine)`,
  );
}
