/**
 * The whole suite, as `deno task test` runs it: first the fast tier (unit tests
 * under lib/ and routes/, and the in-process HTTP tests of tests/in_process/:
 * `app.request()` on `:memory:` KV, no subprocess), with its time; then the
 * integration tests (real server processes) in parallel, after one type check of
 * every test module (the passes themselves run with `--no-check`); then the realtime
 * integration tests once more against a modelled remote KV
 * (`TEST_KV_LATENCY=20/5`: every KV operation 20 ms, eventual reads 5 ms, so
 * whatever only worked because a local KV answers at once shows up); then the
 * Chromium end-to-end tests (tests/e2e_*) one file at a time, so browser timing
 * never competes with other tests on a 2-core machine (the island bundles are
 * built once before). No pass runs beside another. Ends with one combined
 * summary line. With arguments, runs `deno test -A <arguments>` instead.
 *
 *     deno run -A scripts/run_tests.ts [deno test arguments]
 * (Not named test.ts: deno test would load that name as a test module.)
 */
const root = new URL("../", import.meta.url).pathname;

/**
 * The realtime integration tests that run a second time against the KV latency model
 * (the randomized cross-isolate test is in two files, BroadcastChannel on and off, so
 * that its two 20-second runs go side by side).
 */
const REALTIME_TESTS = [
  "realtime_test.ts",
  "realtime_cross_isolate_test.ts",
  "realtime_cross_isolate_kv_test.ts",
  "realtime_limits_test.ts",
  "chat_delivery_test.ts",
  "chat_presence_test.ts",
  "chat_access_test.ts",
  "notifications_stream_test.ts",
  "notifications_ack_test.ts",
  "notifications_api_test.ts",
  "transfer_signaling_test.ts",
  "transfer_join_race_test.ts",
  "transfer_api_test.ts",
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

/** Runs `deno test -A <args>`, echoing its output as it comes, and reads its summary line. */
async function denoTest(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ ok: boolean; passed: number; failed: number; seconds: number }> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", ...args],
    cwd: root,
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let passed = 0;
  let failed = 0;
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of child.stdout) {
    const text = decoder.decode(chunk, { stream: true });
    await Deno.stdout.write(chunk);
    pending += text;
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
  const status = await child.status;
  return { ok: status.success, passed, failed, seconds: (performance.now() - started) / 1000 };
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
 * Type-checks every test module once (the passes below then run with `--no-check`):
 * checking each pass's files on its own took about 15 s on a fresh clone, this about 12 s.
 */
async function checkTests(): Promise<{ ok: boolean; seconds: number }> {
  const started = performance.now();
  const checked = await new Deno.Command(Deno.execPath(), {
    args: ["check", "tests/"],
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return { ok: checked.success, seconds: (performance.now() - started) / 1000 };
}

await buildIslands();
const fastStarted = performance.now();
// The unit tests are type-checked by `deno task check` (`deno task ok` runs it first).
const fast = await denoTest(["--parallel", "--no-check", ...FAST_TIER]);
const fastSeconds = ((performance.now() - fastStarted) / 1000).toFixed(1);
console.log(`\n--- unit + in-process tier: ${fastSeconds} s ---`);
console.log("\n--- type check of the test modules ---");
const checked = await checkTests();
console.log(`--- type check: ${checked.seconds.toFixed(1)} s ---`);
if (!checked.ok) {
  console.log("\nFAILED | the test modules do not type-check (no test pass ran after it)");
  Deno.exit(1);
}
console.log("\n--- integration tests (real server processes) ---");
const parallel = await denoTest([
  "--parallel",
  "--no-check",
  `--ignore=${[...e2e, ...FAST_TIER].join(",")}`,
]);
console.log("\n--- realtime tests again, with every KV operation modelled as remote (20/5 ms) ---");
// Three files at a time: these tests mostly wait on the modelled KV's latency (about 80
// CPU-seconds in 100 s at two at a time); three took 66 s at a load average under 4.
const modelled = await denoTest(["--parallel", "--no-check", ...REALTIME_TESTS], {
  TEST_KV_LATENCY: "20/5",
  DENO_JOBS: "3",
});
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
    `unit + in-process tier ${fastSeconds} s, type check ${checked.seconds.toFixed(0)} s, ` +
    `integration ${parallel.seconds.toFixed(0)} s, ` +
    `modelled ${modelled.seconds.toFixed(0)} s, Chromium ${browser.seconds.toFixed(0)} s)`,
);
Deno.exit(ok ? 0 : 1);
