/**
 * @module
 * Starts the real Switchboard server for tests: a real process on a real port
 * with a temporary KV file, one isolate (`deno serve`) or several
 * (`deno serve --parallel`), and stops it cleanly.
 */

import { TRACING_ENVIRONMENT } from "../lib/observability/mod.ts";

/**
 * `TEST_KV_LATENCY` (e.g. `20/5`): every server a test starts models a remote KV
 * (`SIMULATE_KV_LATENCY`), so anything that only worked because KV was instant
 * shows up. Set by `deno task test` for its pass over the realtime tests.
 */
const kvLatency = Deno.env.get("TEST_KV_LATENCY") ?? "";

/** The API key every test server uses. */
export const TEST_API_KEY = "sb_test_api_key_0123456789abcdef";
const root = new URL("../", import.meta.url).pathname;
let built: Promise<void> | null = null;

/** Builds the island bundles once per test process (a no-op when up to date). */
export function ensureBuilt(): Promise<void> {
  built ??= (async () => {
    const status = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "scripts/build_islands.ts"],
      cwd: root,
      stdout: "null",
      stderr: "inherit",
    }).output();
    if (!status.success) throw new Error("island build failed");
  })();
  return built;
}

/** A free TCP port on loopback. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Options for {@linkcode startServer}. */
export interface ServerOptions {
  /** Isolates under `deno serve --parallel`; 1 runs plain `deno serve`. Default 1. */
  isolates?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Reuse a KV file (for restarts); default a fresh temp file. */
  kvPath?: string;
  /** Reuse a port (for restarts); default a free one. */
  port?: number;
  /** More `deno serve` flags (e.g. `--inspect=127.0.0.1:9229` to profile a benchmark). */
  denoFlags?: string[];
}

/** A running test server; disposing it kills the process (`stop()` shuts it down gracefully). */
export interface TestServer extends AsyncDisposable {
  url: string;
  wsUrl: string;
  port: number;
  kvPath: string;
  /** The server process id (for memory readings in benchmarks). */
  pid: number;
  /** Everything the server printed so far. */
  output(): string;
  /** SIGTERM and wait (a graceful shutdown: about 0.5 s, see main.ts). */
  stop(): Promise<void>;
  /** SIGKILL and wait (a crash). */
  kill(): Promise<void>;
  /** Kills (or stops) the server and starts a new one on the same port and KV. */
  restart(options?: { kill?: boolean }): Promise<TestServer>;
}

/** The server could not bind its port: something took it after {@linkcode freePort} chose it. */
class PortTaken extends Error {}

/**
 * Starts the server and waits until `/healthz` answers. When the port chosen for
 * it was taken before the server bound it (another test's server, or a client's
 * ephemeral port, on a busy machine), it starts again on another one.
 */
export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startServerOnce(options);
    } catch (error) {
      if (!(error instanceof PortTaken) || options.port !== undefined || attempt >= 5) throw error;
    }
  }
}

async function startServerOnce(options: ServerOptions): Promise<TestServer> {
  await ensureBuilt();
  const isolates = options.isolates ?? 1;
  const port = options.port ?? freePort();
  const kvPath = options.kvPath ??
    `${await Deno.makeTempDir({ prefix: "switchboard-test-" })}/kv.sqlite3`;
  const args = ["serve", "-A", ...(options.denoFlags ?? []), `--port=${port}`, "--host=127.0.0.1"];
  if (isolates > 1) args.push("--parallel");
  args.push("main.ts");
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env: {
      KV_PATH: kvPath,
      SWITCHBOARD_API_KEY: TEST_API_KEY,
      LOG_LEVEL: "warn",
      STUN_URLS: "stun:127.0.0.1:3478",
      DENO_JOBS: String(isolates),
      NO_COLOR: "1",
      // The suite's second pass runs the realtime tests against a modelled remote KV.
      ...(kvLatency ? { SIMULATE_KV_LATENCY: kvLatency } : {}),
      // As `deno task start` runs it: Deno's raw-URL request spans are never exported.
      ...TRACING_ENVIRONMENT,
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let printed = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) printed += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  const seen = new Set<string>();
  let exited = false;
  child.status.then(() => exited = true);
  while (true) {
    if (exited) {
      await drained;
      if (/AddrInUse|address already in use/i.test(printed)) throw new PortTaken(printed);
      throw new Error(`server exited during start:\n${printed}`);
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not become healthy:\n${printed}`);
    }
    try {
      // Only once this process said it listens: an answer before that would come from
      // whatever else holds the port.
      const listening = printed.includes(`Listening on ${url}/`);
      const body = listening ? await healthOnNewConnection(url) : { ok: false, isolate: "" };
      if (body.ok) seen.add(body.isolate);
      if (seen.size >= isolates) break;
    } catch { /* not listening yet */ }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let stopped = false;
  async function end(signal: Deno.Signal): Promise<void> {
    if (stopped) return;
    stopped = true;
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 8000);
    await child.status;
    clearTimeout(timer);
    await drained;
  }
  const server: TestServer = {
    url,
    wsUrl: url.replace("http", "ws"),
    port,
    kvPath,
    pid: child.pid,
    output: () => printed,
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
    async restart(restartOptions = {}) {
      await (restartOptions.kill ? server.kill() : server.stop());
      return await startServer({ ...options, port, kvPath });
    },
    // Disposing at the end of a test: nothing is asserted after it, so SIGKILL rather than
    // waiting the graceful shutdown's half second (tests of shutdown call stop()).
    [Symbol.asyncDispose]: () => end("SIGKILL"),
  };
  processes.set(server, child);
  return server;
}

/** The per-address limits of a {@linkcode sharedServer}, out of the way. */
export const SHARED_SERVER_LIMITS: Readonly<Record<string, string>> = {
  REQUESTS_PER_MINUTE: "1000000",
  JOIN_ATTEMPTS_PER_MINUTE: "1000000",
  TRANSFERS_PER_HOUR: "1000000",
  UPLOADS_PER_HOUR: "1000000",
};

/** The process of each server {@linkcode startServer} started (for {@linkcode sharedServer}). */
const processes = new WeakMap<TestServer, Deno.ChildProcess>();

/**
 * One server for the tests of a test module that need nothing of their own (no
 * special environment, restart or kill): the first test that calls the returned
 * function starts it, the others get the same one, and it is killed when the
 * module's tests are done (`unload`). Tests sharing it must not see each other:
 * each uses its own user ids, topics and channels. Don't dispose it in a test.
 * Its per-address limits are raised ({@linkcode SHARED_SERVER_LIMITS}): they would
 * count the requests of every test sharing it (tests of a limit start their own).
 *
 * @example
 * ```ts
 * const server = sharedServer();
 * Deno.test("healthz", async () => {
 *   const response = await fetch(`${(await server()).url}/healthz`);
 *   await response.body?.cancel();
 * });
 * ```
 */
export function sharedServer(options: ServerOptions = {}): () => Promise<TestServer> {
  let started: Promise<TestServer> | null = null;
  return () => {
    const env = { ...SHARED_SERVER_LIMITS, ...options.env };
    started ??= startServer({ ...options, env }).then((server) => {
      // unload listeners run synchronously: a kill is all there is time for.
      globalThis.addEventListener("unload", () => {
        try {
          processes.get(server)?.kill("SIGKILL");
        } catch { /* already gone */ }
      });
      return server;
    });
    return started;
  };
}

/**
 * `/healthz` over a new TCP connection, so that under `--parallel` the request
 * can land on any isolate (a kept-alive connection stays on one).
 */
export async function healthOnNewConnection(
  url: string,
): Promise<{ ok: boolean; isolate: string }> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const response = await fetch(`${url}/healthz`, { client, signal: AbortSignal.timeout(5000) });
    return await response.json();
  } finally {
    client.close();
  }
}

/** JSON fetch helper: returns status, headers and parsed body. */
export async function request(
  url: string,
  init: RequestInit & { json?: unknown; bearer?: string } = {},
  // deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers = new Headers(init.headers);
  if (init.json !== undefined) headers.set("Content-Type", "application/json");
  if (init.bearer) headers.set("Authorization", `Bearer ${init.bearer}`);
  const response = await fetch(url, {
    ...init,
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: response.status, headers: response.headers, body };
}

/** Waits until `check` returns a truthy value, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
  throw new Error(`timed out: ${options.message ?? "condition"}${last ? ` (${last})` : ""}`);
}
