import assert from "node:assert/strict";
import {
  freePort,
  healthOnNewConnection,
  request,
  startServer,
  TEST_API_KEY,
  waitFor,
} from "./harness.ts";

Deno.test("the server serves the landing page, healthz, a JSON 404 and secure headers", async () => {
  await using server = await startServer();
  const health = await request(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(health.body.ok, true);
  assert.equal(health.body.kv, "ok");
  assert.match(health.body.isolate, /^[0-9a-f]{8}$/);

  const landing = await fetch(`${server.url}/`);
  const html = await landing.text();
  assert.equal(landing.status, 200);
  assert.match(html, /<h1>Realtime for files, notifications and chat\.<\/h1>/);
  assert.match(html, /<script type="module" src="\/_islands\/QuickStart-[0-9a-f]{10}\.js">/);
  const csp = landing.headers.get("content-security-policy") ?? "";
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(landing.headers.get("x-content-type-options"), "nosniff");

  const bundle = html.match(/src="(\/_islands\/[^"]+)"/)![1]!;
  const script = await fetch(`${server.url}${bundle}`);
  await script.text();
  assert.equal(script.status, 200);
  assert.match(script.headers.get("cache-control") ?? "", /immutable/);

  const apiMissing = await request(`${server.url}/api/no/such/thing`, { method: "POST" });
  assert.equal(apiMissing.status, 404);
  assert.deepEqual(apiMissing.body, {
    error: { code: "not_found", message: "No such API endpoint" },
  });

  const pageMissing = await fetch(`${server.url}/no-such-page`, {
    headers: { accept: "text/html" },
  });
  assert.equal(pageMissing.status, 404);
  assert.match(await pageMissing.text(), /Page not found/);
  assert.ok(!server.output().includes(TEST_API_KEY), "the API key is never logged");
});

Deno.test("a page without islands ships no script", async () => {
  await using server = await startServer();
  const response = await fetch(`${server.url}/definitely-missing`, {
    headers: { accept: "text/html" },
  });
  const html = await response.text();
  assert.ok(!html.includes("<script"), html);
});

Deno.test("deno serve --parallel answers from at least two isolates", async () => {
  await using server = await startServer({ isolates: 2 });
  const isolates = new Set<string>();
  for (let attempt = 0; attempt < 200 && isolates.size < 2; attempt++) {
    isolates.add((await healthOnNewConnection(server.url)).isolate);
  }
  assert.ok(isolates.size >= 2, `only saw ${[...isolates]}`);
});

Deno.test("an invalid configuration value stops the start with one line naming it", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: new URL("../", import.meta.url).pathname,
    env: { PORT: "not-a-port", KV_PATH: ":memory:" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.success, false);
  const stderr = new TextDecoder().decode(output.stderr).trim();
  assert.equal(stderr.split("\n").length, 1, stderr);
  assert.match(stderr, /^Invalid configuration: PORT="not-a-port"/);
});

Deno.test("the generated API key is stored in KV and the same on the next start", async () => {
  const kvPath = `${await Deno.makeTempDir()}/kv.sqlite3`;
  const first = await startServer({ kvPath, env: { SWITCHBOARD_API_KEY: "" } });
  const printed = first.output().match(/API key \(generated, stored in KV\): (sb_\S+)/)?.[1];
  await first.stop();
  assert.ok(printed, first.output());
  const second = await startServer({ kvPath, env: { SWITCHBOARD_API_KEY: "" } });
  await second.stop();
  assert.ok(!second.output().includes("API key (generated"), "printed only once");
  const read = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/api_key.ts"],
    cwd: new URL("../", import.meta.url).pathname,
    env: { KV_PATH: kvPath },
    stdout: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(read.stdout).trim(), printed);
});

Deno.test({
  name: "`deno task start` serves / and /healthz from at least two isolates within 60 s",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const port = freePort();
    const kvDir = await Deno.makeTempDir();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["task", "start"],
      cwd: new URL("../", import.meta.url).pathname,
      env: {
        PORT: String(port),
        HOSTNAME: "127.0.0.1",
        KV_PATH: `${kvDir}/kv.sqlite3`,
        DENO_JOBS: "2",
      },
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const started = Date.now();
      const url = `http://127.0.0.1:${port}`;
      const isolates = await waitFor(async () => {
        const seen = new Set<string>();
        for (let attempt = 0; attempt < 40; attempt++) {
          seen.add((await healthOnNewConnection(url)).isolate);
        }
        return seen.size >= 2 ? seen : null;
      }, { timeoutMs: 60_000, intervalMs: 250, message: "two isolates answering" });
      assert.ok(isolates.size >= 2);
      const landing = await fetch(`${url}/`);
      assert.equal(landing.status, 200);
      assert.match(await landing.text(), /Switchboard/);
      assert.ok(Date.now() - started < 60_000);
    } finally {
      child.kill("SIGTERM");
      await child.status;
    }
  },
});
