/**
 * The whole suite, as `deno task test` runs it, after building the island bundles
 * once:
 *
 * 1. the fast tier (unit tests under lib/ and routes/, and the in-process HTTP
 *    tests of tests/in_process/: `app.request()` on `:memory:` KV, no subprocess),
 *    with its time, beside one type check of every test module (the passes then
 *    run with `--no-check`; a type error stops the suite there);
 * 2. the integration tests (real server processes) in parallel, beside the
 *    realtime integration tests once more against a modelled remote KV
 *    (`TEST_KV_LATENCY=20/5`: every KV operation 20 ms, eventual reads 5 ms, so
 *    whatever only worked because a local KV answers at once shows up), whose
 *    output is printed when it ends;
 * 3. the Chromium end-to-end tests (tests/e2e_*) one file at a time, beside
 *    nothing, so browser timing never competes with other tests on a 2-core
 *    machine.
 *
 * Ends with one combined summary line. With arguments, runs
 * `deno test -A <arguments>` instead.
 *
 *     deno run -A scripts/run_tests.ts [deno test arguments]
 * (Not named test.ts: deno test would load that name as a test module.)
 */
const root = new URL("../", import.meta.url).pathname;

/**
 * The realtime integration tests that run a second time against the KV latency model
 * (the randomized cross-isolate test is in two files, BroadcastChannel on and off, so
 * that its two 20-second runs go side by side), and the in-process transfer lifetime
 * test, which models it too when `TEST_KV_LATENCY` is set (about 2 s then).
 */
const REALTIME_TESTS = [
  // The longest first (deno test starts the files in the order given), so that no long
  // file starts last and runs on alone.
  "realtime_cross_isolate_test.ts",
  "realtime_cross_isolate_kv_test.ts",
  "transfer_signaling_test.ts",
  "realtime_limits_test.ts",
  "notifications_ack_test.ts",
  "realtime_test.ts",
  "chat_delivery_test.ts",
  "chat_presence_test.ts",
  "chat_access_test.ts",
  "notifications_stream_test.ts",
  "notifications_api_test.ts",
  "transfer_join_race_test.ts",
  "transfer_api_test.ts",
  "in_process/transfer_lifetime_test.ts",
].map((name) => `tests/${name}`);

/**
 * The integration test files that take longest (10–25 s each), started first; the
 * others follow in deno's own order.
 */
const LONG_INTEGRATION_TESTS = [
  "link_transfer_test.ts",
  "realtime_limits_test.ts",
  "transfer_signaling_test.ts",
  "docs_examples_test.ts",
  "reliability_soak_test.ts",
  "client_package_test.ts",
  "foundation_test.ts",
  "link_api_test.ts",
  "realtime_cross_isolate_test.ts",
  "notifications_ack_test.ts",
].map((name) => `tests/${name}`);

/** Builds the island bundles once, so test processes running side by side only read them. */
async function buildIslands(): Promise<void> {
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/build_islands.ts"],
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!built.success) Deno.exit(1);
}

/** What a pass printed and how it ended. */
interface PassResult {
  ok: boolean;
  passed: number;
  failed: number;
  seconds: number;
}

/**
 * Runs `deno test -A <args>` and reads its summary line. Its output is echoed as
 * it comes, or with `quiet` kept and printed in one piece when it ends (for a pass
 * that runs beside another, so the two outputs do not interleave).
 */
async function denoTest(
  args: string[],
  env: Record<string, string> = {},
  options: { quiet?: boolean; title?: string } = {},
): Promise<PassResult> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", ...args],
    cwd: root,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let passed = 0;
  let failed = 0;
  const decoder = new TextDecoder();
  const kept: Uint8Array[] = [];
  let pending = "";
  const echo = async (stream: ReadableStream<Uint8Array>, to: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      if (options.quiet) kept.push(chunk);
      else await to.write(chunk);
      if (to !== Deno.stdout) continue;
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        // deno test's summary: "ok | 12 passed (3 steps) | 0 failed (1s)", maybe with colors.
        const plain = line.replace(/\x1b\[[0-9;]*m/g, "");
        const summary = /^(ok|FAILED) \| (\d+) passed.*\| (\d+) failed/.exec(plain);
        if (summary) {
          passed = Number(summary[2]);
          failed = Number(summary[3]);
        }
      }
    }
  };
  await Promise.all([echo(child.stdout, Deno.stdout), echo(child.stderr, Deno.stderr)]);
  const status = await child.status;
  if (options.quiet) {
    console.log(`\n--- ${options.title ?? "deno test"} (ran beside the pass above) ---`);
    for (const chunk of kept) await Deno.stdout.write(chunk);
  }
  return { ok: status.success, passed, failed, seconds: (performance.now() - started) / 1000 };
}

/**
 * Type-checks every test module once (the passes then run with `--no-check`):
 * checking each pass's files on its own took about 15 s on a fresh clone, this
 * about 12 s, beside the fast tier. Its output is printed when it ends.
 */
async function checkTests(): Promise<{ ok: boolean; seconds: number }> {
  const started = performance.now();
  const checked = await new Deno.Command(Deno.execPath(), {
    args: ["check", "tests/"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!checked.success) {
    await Deno.stdout.write(checked.stdout);
    await Deno.stderr.write(checked.stderr);
  }
  return { ok: checked.success, seconds: (performance.now() - started) / 1000 };
}

if (Deno.args.length > 0) {
  const result = await denoTest(Deno.args);
  Deno.exit(result.ok ? 0 : 1);
}

const e2e: string[] = [];
for await (const entry of Deno.readDir(`${root}tests`)) {
  if (/^e2e_.*_test\.ts$/.test(entry.name)) e2e.push(`tests/${entry.name}`);
}
e2e.sort();
/** Unit tests and the in-process HTTP tier: no server process, meant to stay under 60 s. */
const FAST_TIER = ["lib/", "routes/", "tests/in_process/"];

/**
 * Every other test module (what `deno test` would find, less the fast tier and the
 * Chromium tests), the long ones first: given files, deno test starts them in that
 * order (and would ignore `--ignore`, hence the list).
 */
async function integrationTests(): Promise<string[]> {
  const skipped = new Set([
    ".git",
    "node_modules",
    "_build",
    "data",
    "packages/client/dist",
    ...FAST_TIER.map((dir) => dir.replace(/\/$/, "")),
  ]);
  const found: string[] = [];
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(`${root}${dir}`)) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory && !skipped.has(path)) await walk(path);
      else if (entry.isFile && /_test\.tsx?$/.test(entry.name) && !e2e.includes(path)) {
        found.push(path);
      }
    }
  }
  await walk("");
  const long = LONG_INTEGRATION_TESTS.filter((path) => found.includes(path));
  return [...long, ...found.filter((path) => !long.includes(path)).sort()];
}

await buildIslands();
console.log("--- unit + in-process tier, beside the type check of the test modules ---");
const fastStarted = performance.now();
// The unit tests are type-checked by `deno task check` (`deno task ok` runs it first).
const [fast, checked] = await Promise.all([
  denoTest(["--parallel", "--no-check", ...FAST_TIER]),
  checkTests(),
]);
const fastSeconds = ((performance.now() - fastStarted) / 1000).toFixed(1);
console.log(
  `\n--- unit + in-process tier: ${fastSeconds} s (type check ${checked.seconds.toFixed(1)} s) ---`,
);
if (!checked.ok) {
  console.log("\nFAILED | the test modules do not type-check (no further pass ran)");
  Deno.exit(1);
}
// The integration tests and the modelled pass side by side, two files at a time each: both
// mostly wait (on servers, sockets, the modelled KV), and together they took 156 s at a load
// average under 4, where one after the other took about 165 + 66 s.
console.log("\n--- integration tests (real server processes), beside the modelled pass ---");
const [parallel, modelled] = await Promise.all([
  denoTest(["--parallel", "--no-check", ...await integrationTests()]),
  denoTest(["--parallel", "--no-check", ...REALTIME_TESTS], {
    TEST_KV_LATENCY: "20/5",
    DENO_JOBS: "2",
  }, {
    quiet: true,
    title: "realtime tests again, with every KV operation modelled as remote (20/5 ms)",
  }),
]);
// One file at a time, after everything else: tried beside the modelled pass, the load
// passed 14 on 2 cores and three tests timed out; two files at a time took 253 s instead of
// about 280 s (the browsers are CPU-bound), not worth the load.
console.log("\n--- Chromium end-to-end tests, one file at a time ---");
const browser = await denoTest(["--no-check", ...e2e]);
const passes = [fast, parallel, modelled, browser];
const passed = passes.reduce((sum, pass) => sum + pass.passed, 0);
const failed = passes.reduce((sum, pass) => sum + pass.failed, 0);
const ok = passes.every((pass) => pass.ok);
console.log(
  `\n${ok ? "ok" : "FAILED"} | ${passed} passed | ${failed} failed (whole suite; ` +
    `unit + in-process tier ${fastSeconds} s, integration ${parallel.seconds.toFixed(0)} s ` +
    `beside modelled ${modelled.seconds.toFixed(0)} s, Chromium ${browser.seconds.toFixed(0)} s)`,
);
Deno.exit(ok ? 0 : 1);
