/**
 * Starts Switchboard: builds the islands if their sources changed, then runs
 * `deno serve` on PORT/HOSTNAME (which `deno serve` itself does not read), with
 * the OpenTelemetry settings tracing needs (`TRACING_ENVIRONMENT`) unless set.
 *
 *     deno run -A scripts/start.ts            # --parallel: one isolate per core (DENO_JOBS)
 *     deno run -A scripts/start.ts --dev      # one isolate, restarts on file changes
 */
import { loadConfig } from "../lib/config/mod.ts";
import { TRACING_ENVIRONMENT } from "../lib/observability/mod.ts";

const dev = Deno.args.includes("--dev");
let config;
try {
  config = loadConfig(Deno.env.toObject());
} catch (error) {
  console.error((error as Error).message);
  Deno.exit(1);
}

const root = new URL("../", import.meta.url).pathname;
const build = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "scripts/build_islands.ts"],
  cwd: root,
}).spawn().status;
if (!build.success) Deno.exit(build.code);

const args = [
  "serve",
  "-A",
  `--port=${config.PORT}`,
  `--host=${config.HOSTNAME}`,
  ...(dev ? ["--watch"] : ["--parallel"]),
  "main.ts",
];
// Deno reads its OpenTelemetry settings at start: the ones that keep its raw-URL request span from
// being exported go in unless the environment says otherwise (main.ts refuses unsafe ones).
const env: Record<string, string> = {};
for (const [name, value] of Object.entries(TRACING_ENVIRONMENT)) {
  if (!Deno.env.get(name)) env[name] = value;
}
const server = new Deno.Command(Deno.execPath(), { args, cwd: root, env }).spawn();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    try {
      server.kill(signal);
    } catch { /* already gone */ }
  });
}
const status = await server.status;
Deno.exit(status.code);
