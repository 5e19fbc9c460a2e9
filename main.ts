/**
 * @module
 * Entry point: starts one isolate ({@linkcode startServer} in server.ts: config →
 * KV → core → job services → app) and stops it on SIGINT/SIGTERM.
 *
 * Run it with `deno serve` (this module's default export has `fetch`), which is
 * what `deno task start` does with `--parallel`, or with `deno run -A main.ts`,
 * which starts its own `Deno.serve` on `PORT`/`HOSTNAME`.
 */
import { ConfigError } from "./lib/config/mod.ts";
import { type Server, startServer } from "./server.ts";

let server: Server;
try {
  server = await startServer(Deno.env.toObject());
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    Deno.exit(1);
  }
  throw error;
}

async function stopAndExit(signal: string): Promise<void> {
  const stoppedAt = Date.now();
  await server.stop(signal);
  // Every isolate of the process got the signal; Deno.exit() in one ends them all,
  // so leave the others a moment to close their own sockets first.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + 500 - Date.now())));
  Deno.exit(0);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  try {
    Deno.addSignalListener(signal, () => void stopAndExit(signal));
  } catch { /* platforms without signals (Deno Deploy) */ }
}

/** True when this process was started with `deno run` (not `deno serve`). */
function startedWithDenoRun(): boolean {
  // Deno 2.9 sets import.meta.main under `deno serve` too, so ask the command line.
  try {
    const args = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
    return args.includes("run") && !args.includes("serve");
  } catch {
    return false;
  }
}

if (import.meta.main && startedWithDenoRun()) {
  Deno.serve({ port: server.config.PORT, hostname: server.config.HOSTNAME }, server.fetch);
}

export default { fetch: server.fetch } satisfies Deno.ServeDefaultExport;
