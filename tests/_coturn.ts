/**
 * @module
 * A real coturn (`turnserver`, Debian package coturn) on 127.0.0.1 with
 * `use-auth-secret`, for tests that need a TURN relay. Started on a free UDP
 * port (another one if that port was taken meanwhile), stopped on dispose.
 */
import dgram from "node:dgram";
import { waitFor } from "./harness.ts";
import { stunBinding } from "./_turn_client.ts";

/** True when `turnserver` is installed. */
function coturnInstalled(): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", "command -v turnserver"], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** True when TURN tests can run; throws when they must (REQUIRE_BROWSER=1) but cannot. */
export function coturnAvailable(): boolean {
  if (coturnInstalled()) return true;
  if (Deno.env.get("REQUIRE_BROWSER") === "1") {
    throw new Error("REQUIRE_BROWSER=1 but turnserver is missing (apt-get install -y coturn)");
  }
  console.warn(
    "\n!!! turnserver (coturn) is missing: TURN tests are SKIPPED " +
      "(install the Debian package coturn; CI sets REQUIRE_BROWSER=1 and requires it).\n",
  );
  return false;
}

async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A running coturn. */
export interface Coturn extends AsyncDisposable {
  port: number;
  /** What it printed (for failure messages). */
  log(): string;
}

/**
 * Starts coturn with `static-auth-secret=secret` and waits until it answers STUN.
 * The free port is found by binding and closing a socket, so another process can
 * take it before coturn binds it: then a new port is tried (three times at most).
 */
export async function startCoturn(secret: string): Promise<Coturn> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startCoturnOnce(secret, await freeUdpPort());
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

async function startCoturnOnce(secret: string, port: number): Promise<Coturn> {
  const folder = await Deno.makeTempDir({ prefix: "switchboard-coturn-" });
  const child = new Deno.Command("turnserver", {
    args: [
      "-n",
      "--listening-ip=127.0.0.1",
      `--listening-port=${port}`,
      "--relay-ip=127.0.0.1",
      "--min-port=49152",
      "--max-port=65535",
      "--use-auth-secret",
      `--static-auth-secret=${secret}`,
      "--realm=switchboard",
      "--no-tls",
      "--no-dtls",
      "--no-cli",
      "--allow-loopback-peers",
      "--log-file=stdout",
      "--simple-log",
      `--userdb=${folder}/turndb`,
      `--pidfile=${folder}/turnserver.pid`,
    ],
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
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await drained;
    await Deno.remove(folder, { recursive: true }).catch(() => {});
  };
  try {
    await waitFor(() => stunBinding({ address: "127.0.0.1", port }, 300), {
      timeoutMs: 15_000,
      intervalMs: 100,
      message: "coturn answering STUN",
    });
  } catch (error) {
    await stop();
    throw new Error(`coturn did not start: ${error}\n${printed.slice(-2000)}`);
  }
  return { port, log: () => printed, [Symbol.asyncDispose]: stop };
}
