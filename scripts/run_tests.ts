/**
 * The whole suite, as `deno task test` runs it: unit and integration tests in
 * parallel, then the Chromium end-to-end tests (tests/e2e_*) one file at a time,
 * so browser timing never competes with the heavy integration tests on a 2-core
 * machine. Ends with one combined summary line. With arguments, runs
 * `deno test -A <arguments>` instead.
 *
 *     deno run -A scripts/run_tests.ts [deno test arguments]
 * (Not named test.ts: deno test would load that name as a test module.)
 */
const root = new URL("../", import.meta.url).pathname;

async function denoTest(args: string[]): Promise<{ ok: boolean; passed: number; failed: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", ...args],
    cwd: root,
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
const browser = await denoTest(e2e);
const passed = parallel.passed + browser.passed;
const failed = parallel.failed + browser.failed;
const ok = parallel.ok && browser.ok;
console.log(`\n${ok ? "ok" : "FAILED"} | ${passed} passed | ${failed} failed (whole suite)`);
Deno.exit(ok ? 0 : 1);
