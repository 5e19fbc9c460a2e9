/**
 * The docs' examples run as written: every ```sh block of docs/api.md and
 * every `example` of the API catalog is run with `bash -euo pipefail` against a
 * real server, after the setup block of docs/api.md (which mints `$TOKEN` and
 * defines the `ws` helper). `curl -f` makes an HTTP error fail its snippet.
 */
import assert from "node:assert/strict";
import { fencedBlocks } from "../lib/api_docs/mod.ts";
import { loadConfig } from "../lib/config/mod.ts";
import { apiCatalog } from "../routes/api_catalog.ts";
import { startServer, TEST_API_KEY } from "./harness.ts";

const API_MD = new URL("../docs/api.md", import.meta.url);
const ROOT = new URL("../", import.meta.url).pathname;
/** Snippets run this many at a time (they are independent; a few wait on streams). */
const CONCURRENCY = 4;

interface Snippet {
  name: string;
  code: string;
}

interface Outcome {
  name: string;
  code: number;
  output: string;
}

async function requireTools(): Promise<void> {
  for (const tool of ["bash", "curl", "jq", "timeout"]) {
    const found = await new Deno.Command("bash", {
      args: ["-c", `command -v ${tool}`],
      stdout: "null",
    }).output();
    assert.ok(
      found.success,
      `${tool} is needed to run the docs' examples (apt-get install ${tool})`,
    );
  }
}

async function run(snippet: Snippet, setup: string, env: Record<string, string>): Promise<Outcome> {
  const child = new Deno.Command("bash", {
    args: ["-euo", "pipefail", "-c", `${setup}\n${snippet.code}`],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const result = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return {
    name: snippet.name,
    code: result.code,
    output: (decoder.decode(result.stdout) + decoder.decode(result.stderr)).slice(-2000),
  };
}

async function runAll(
  snippets: Snippet[],
  setup: string,
  env: Record<string, string>,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const queue = [...snippets];
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let snippet = queue.shift(); snippet; snippet = queue.shift()) {
      outcomes.push(await run(snippet, setup, env));
    }
  }));
  return outcomes;
}

Deno.test({
  name: "every example in docs/api.md and in the API catalog runs as written against a real server",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await requireTools();
    const blocks = fencedBlocks(await Deno.readTextFile(API_MD)).filter((block) =>
      block.lang === "sh"
    );
    const [setup, ...tour] = blocks;
    assert.ok(setup, "docs/api.md has a setup block");
    assert.match(setup.code, /TOKEN=/);
    assert.match(setup.code, /ws\(\) \{/);
    const catalog = apiCatalog(loadConfig({}));
    const snippets: Snippet[] = [
      ...tour.map((block) => ({ name: `docs/api.md:${block.line}`, code: block.code })),
      ...catalog.filter((endpoint) => endpoint.example).map((endpoint) => ({
        name: `catalog ${endpoint.method} ${endpoint.path}`,
        code: endpoint.example!,
      })),
    ];
    assert.ok(tour.length >= 8, `docs/api.md has a runnable block per section (${tour.length})`);
    assert.equal(snippets.length - tour.length, catalog.length, "every endpoint has an example");

    await using server = await startServer();
    const denoDir = Deno.execPath().replace(/\/[^/]+$/, "");
    const env = {
      BASE: server.url,
      KEY: TEST_API_KEY,
      PATH: `${denoDir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      NO_COLOR: "1",
    };
    const outcomes = await runAll(snippets, setup.code, env);
    const failed = outcomes.filter((outcome) => outcome.code !== 0);
    assert.deepEqual(
      failed.map((outcome) => `${outcome.name} exited ${outcome.code}:\n${outcome.output}`),
      [],
    );
    assert.equal(outcomes.length, snippets.length);
  },
});

Deno.test({
  name: "a snippet fails on an HTTP error, a refused socket or an error frame",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await requireTools();
    const [setup] = fencedBlocks(await Deno.readTextFile(API_MD)).filter((block) =>
      block.lang === "sh"
    );
    await using server = await startServer();
    const denoDir = Deno.execPath().replace(/\/[^/]+$/, "");
    const env = {
      BASE: server.url,
      KEY: TEST_API_KEY,
      PATH: `${denoDir}:${Deno.env.get("PATH") ?? "/usr/bin"}`,
    };
    const [wrongKey, missing, badFrame, refused] = await Promise.all([
      run({ name: "wrong key", code: "true" }, setup!.code, { ...env, KEY: "not-the-key" }),
      run(
        { name: "404", code: 'curl -fsS "$BASE/api/download/does-not-exist"' },
        setup!.code,
        env,
      ),
      run(
        { name: "bad frame", code: `ws "/api/ws/notifications?token=$TOKEN" '{"type":"nope"}'` },
        setup!.code,
        env,
      ),
      run({ name: "refused", code: `ws "/api/ws/notifications?token=forged"` }, setup!.code, env),
    ]);
    assert.notEqual(wrongKey.code, 0);
    assert.match(wrongKey.output, /401/);
    assert.equal(missing.code, 22, missing.output);
    assert.equal(badFrame.code, 1, badFrame.output);
    assert.match(badFrame.output, /unknown_type/);
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /WebSocket closed/);
  },
});
