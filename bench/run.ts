/**
 * Runs every benchmark (bench/*.ts except this file and _helpers) one after the
 * other, each in its own process, and writes bench/results/summary.md with their
 * tables. Pass names to run some: `deno task bench core signaling`.
 *
 *     deno task bench [--quick] [name...]
 */
import { settle } from "./_common.ts";

const here = new URL("./", import.meta.url);
/**
 * Not run here: this runner, and share_receive_memory (two more 1 GiB transfers,
 * OPFS vs memory, run by hand; share.ts already measures the OPFS receiver's memory).
 */
const STANDALONE = new Set(["run", "share_receive_memory"]);
const flags = Deno.args.filter((arg) => arg.startsWith("--"));
const wanted = Deno.args.filter((arg) => !arg.startsWith("--"));
const names: string[] = [];
for await (const entry of Deno.readDir(here)) {
  const match = /^([a-z][a-z0-9_]*)\.ts$/.exec(entry.name);
  if (entry.isFile && match && !STANDALONE.has(match[1]!)) names.push(match[1]!);
}
names.sort();
const selected = wanted.length ? names.filter((name) => wanted.includes(name)) : names;
/**
 * Benchmarks that run a second time in the far region (`--far`: KV modelled as
 * Deno Deploy seen from Frankfurt). notifications and transfer run both passes
 * themselves.
 */
const FAR_TOO = new Set(["chat"]);
const runs = selected.flatMap((name) => FAR_TOO.has(name) ? [[name], [name, "--far"]] : [[name]]);
const sections: string[] = [
  `# Benchmark results\n\nRun: ${new Date().toISOString()}, ` +
  `${navigator.hardwareConcurrency} cores. Command: \`deno task bench ${Deno.args.join(" ")}\`\n`,
];
let failed = 0;
for (const [name, ...extra] of runs) {
  const label = [name, ...extra].join(" ");
  console.log(`\n=== bench/${name}.ts${extra.length ? ` ${extra.join(" ")}` : ""} ===`);
  await settle();
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`${name}.ts`, here).pathname, ...extra, ...flags],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  console.log(text);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  if (!output.success) failed += 1;
  sections.push(
    `## ${label} (${
      output.success ? "ok" : "FAILED"
    }, ${seconds} s)\n\n\`\`\`\n${text.trim()}\n\`\`\`\n`,
  );
}
await Deno.mkdir(new URL("results/", here), { recursive: true });
await Deno.writeTextFile(new URL("results/summary.md", here), sections.join("\n"));
console.log(
  `\nwritten: bench/results/summary.md (${runs.length} runs, ${failed} failed)`,
);
if (failed) Deno.exit(1);
