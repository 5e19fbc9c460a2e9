/**
 * The client package as a user gets it: built, `npm pack`ed, installed from the
 * tarball into an empty folder, and run by Node against a real server. Node 20
 * is what this machine has: it has no global WebSocket, so the script passes the
 * `ws` package through the package's `wsAdapter` (Node ≥ 22 would use its global
 * one; the script takes whichever exists).
 */
import assert from "node:assert/strict";
import { request, startServer, TEST_API_KEY } from "./harness.ts";
import { INTEGRATION, userToken } from "./notifications_fixtures.ts";

const root = new URL("../", import.meta.url);

async function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<string> {
  const output = await new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(
    output.code,
    0,
    `${command} ${args.join(" ")}: ${text}\n${new TextDecoder().decode(output.stderr)}`,
  );
  return text;
}

const nodeAvailable = (() => {
  try {
    return new Deno.Command("node", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
})();

const SCRIPT = `
import { Switchboard, RealtimeClient, backoffDelay, wsAdapter } from "@switchboard/client";
const [baseUrl, token] = process.argv.slice(2);
const WebSocketClass = globalThis.WebSocket ?? wsAdapter((await import("ws")).default);
const say = (line) => console.log(JSON.stringify(line));
say({ kind: "runtime", node: process.version, websocket: globalThis.WebSocket ? "global" : "ws" });
if (typeof RealtimeClient !== "function" || !(backoffDelay(3, { minMs: 1000, maxMs: 30000 }) > 0)) {
  throw new Error("exports missing");
}
// A plain ws socket offering two subprotocols ("switchboard,token.…"): Deno's server cannot
// select one from a list joined without spaces; it must refuse cleanly, not with a 500.
const Ws = globalThis.WebSocket ? null : (await import("ws")).default;
const plain = await new Promise((resolve) => {
  if (!Ws) return resolve("skipped");
  const socket = new Ws(baseUrl.replace("http", "ws") + "/api/ws/notifications", ["switchboard", "token." + token]);
  socket.on("error", (error) => resolve(error.message));
  socket.on("open", () => { socket.close(); resolve("open"); });
});
say({ kind: "plain", result: plain });
const board = new Switchboard({ baseUrl, token, WebSocket: WebSocketClass, minDelayMs: 100 });
const got = { notification: null, topic: null };
const finish = () => {
  if (!got.notification || !got.topic) return;
  feed.close();
  topic.close();
  say({ kind: "done" });
};
const feed = board.notifications((notification) => {
  got.notification = notification;
  say({ kind: "notification", id: notification.id, message: notification.message });
  finish();
}, {
  onControl: (frame) => frame.type === "notification.ready" && say({ kind: "ready" }),
});
const topic = board.topic("user:ada", (event) => {
  got.topic = event;
  say({ kind: "topic", offset: event.offset, cursor: event.cursor });
  finish();
}, { since: "all" });
`;

Deno.test({
  name: "the packed client package installs from a clean folder and receives in Node",
  ignore: !nodeAvailable,
  ...INTEGRATION,
  async fn() {
    await run(Deno.execPath(), ["run", "-A", "scripts/build_client_package.ts"], root.pathname);
    const folder = await Deno.makeTempDir({ prefix: "switchboard-client-" });
    try {
      const packed = JSON.parse(
        await run(
          "npm",
          ["pack", "--json", "--pack-destination", folder],
          `${root.pathname}packages/client`,
        ),
      );
      const tarball = `${folder}/${packed[0].filename}`;
      const files = packed[0].files.map((file: { path: string }) => file.path);
      assert.ok(files.includes("dist/switchboard_client.js"), files.join(", "));
      assert.ok(files.includes("dist/types/packages/client/mod.d.ts"));
      assert.ok(files.includes("README.md"));
      assert.ok(!files.some((file: string) => file.endsWith(".ts") && !file.endsWith(".d.ts")));

      const app = `${folder}/app`;
      await Deno.mkdir(app);
      await Deno.writeTextFile(
        `${app}/package.json`,
        '{"name":"app","private":true,"type":"module"}',
      );
      await run("npm", ["install", "--no-audit", "--no-fund", tarball, "ws@8.23.1"], app);
      await Deno.writeTextFile(`${app}/main.mjs`, SCRIPT);

      await using server = await startServer();
      const token = await userToken(server, "ada");
      const child = new Deno.Command("node", {
        args: ["main.mjs", server.url, token],
        cwd: app,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const lines: Record<string, unknown>[] = [];
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      const nextLine = async (kind: string): Promise<Record<string, unknown>> => {
        for (;;) {
          const found = lines.find((line) => line.kind === kind);
          if (found) return found;
          const { value, done } = await reader.read();
          if (done) {
            throw new Error(
              `node exited before "${kind}": ${JSON.stringify(lines)} ${await stderr}`,
            );
          }
          buffered += value;
          const parts = buffered.split("\n");
          buffered = parts.pop()!;
          for (const part of parts) if (part.trim()) lines.push(JSON.parse(part));
        }
      };
      try {
        const runtime = await nextLine("runtime");
        console.log(
          `client package test: node ${runtime.node}, WebSocket from ${runtime.websocket}`,
        );
        const plain = await nextLine("plain");
        assert.doesNotMatch(String(plain.result), /500/, "no server error for a ws-style list");
        await nextLine("ready");
        const published = await request(`${server.url}/api/notify/ada`, {
          method: "POST",
          body: "Backup done",
          headers: { Authorization: `Bearer ${TEST_API_KEY}` },
        });
        assert.equal(published.status, 202);
        const notification = await nextLine("notification");
        assert.equal(notification.id, published.body.id);
        assert.equal(notification.message, "Backup done");
        const topic = await nextLine("topic");
        assert.equal(topic.offset, 1);
        await nextLine("done");
        const status = await child.status;
        assert.equal(status.code, 0, await stderr);
      } finally {
        try {
          child.kill();
        } catch { /* exited */ }
        await reader.cancel().catch(() => {});
        await stderr.catch(() => {});
      }
    } finally {
      await Deno.remove(folder, { recursive: true }).catch(() => {});
    }
  },
});
