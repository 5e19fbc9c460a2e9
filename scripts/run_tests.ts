/**
 * The whole suite, as `deno task test` runs it: unit and integration tests in
 * parallel; the realtime integration tests once more against a modelled remote
 * KV (`TEST_KV_LATENCY=20/5`: every KV operation 20 ms, eventual reads 5 ms, so
 * whatever only worked because a local KV answers at once shows up); then the
 * Chromium end-to-end tests (tests/e2e_*) one file at a time, so browser timing
 * never competes with the heavy integration tests on a 2-core machine. Ends with
 * one combined summary line. With arguments, runs `deno test -A <arguments>` instead.
 *
 *     deno run -A scripts/run_tests.ts [deno test arguments]
 * (Not named test.ts: deno test would load that name as a test module.)
 */
const root = new URL("../", import.meta.url).pathname;

/** The realtime integration tests that run a second time against the KV latency model. */
const REALTIME_TESTS = [
  "realtime_test.ts",
  "realtime_cross_isolate_test.ts",
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

async function denoTest(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ ok: boolean; passed: number; failed: number }> {
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
  return { ok: status.success, passed, failed };
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
const parallel = await denoTest(["--parallel", `--ignore=${e2e.join(",")}`]);
console.log("\n--- realtime tests again, with every KV operation modelled as remote (20/5 ms) ---");
const modelled = await denoTest(["--parallel", ...REALTIME_TESTS], { TEST_KV_LATENCY: "20/5" });
const browser = await denoTest(e2e);
const passes = [parallel, modelled, browser];
const passed = passes.reduce((sum, pass) => sum + pass.passed, 0);
const failed = passes.reduce((sum, pass) => sum + pass.failed, 0);
const ok = passes.every((pass) => pass.ok);
console.log(`\n${ok ? "ok" : "FAILED"} | ${passed} passed | ${failed} failed (whole suite)`);
Deno.exit(ok ? 0 : 1);
