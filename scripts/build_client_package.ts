/**
 * Builds `packages/client/dist/`: one ES module bundle of the client SDK
 * (`deno bundle`, the esbuild inside Deno, platform "browser", so it runs in
 * browsers, Deno and Node alike) and its type declarations (`tsc` from npm,
 * declarations only, relative `.ts` imports rewritten to `.js`).
 *
 * Run: `deno task build:client`; then `cd packages/client && npm pack`.
 */
const TYPESCRIPT = "npm:typescript@5.9.3/tsc";

const root = new URL("../", import.meta.url);
const packageDir = new URL("packages/client/", root);
const dist = new URL("dist/", packageDir);
const types = new URL("types/", dist);

async function run(args: string[]): Promise<void> {
  const status = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root.pathname,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!status.success) throw new Error(`deno ${args.slice(0, 3).join(" ")} failed`);
}

/** Every file under `dir`, recursively. */
async function* walk(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* walk(url);
    else yield url;
  }
}

await Deno.remove(dist, { recursive: true }).catch(() => {});
await run([
  "bundle",
  "--quiet",
  "--platform=browser",
  "--format=esm",
  `--output=${new URL("switchboard_client.js", dist).pathname}`,
  new URL("mod.ts", packageDir).pathname,
]);
await run([
  "run",
  "-A",
  TYPESCRIPT,
  "--declaration",
  "--emitDeclarationOnly",
  "--allowImportingTsExtensions",
  "--strict",
  "--skipLibCheck",
  "--target",
  "ES2022",
  "--module",
  "ESNext",
  "--moduleResolution",
  "bundler",
  "--lib",
  "ES2022,DOM,DOM.Iterable",
  "--rootDir",
  root.pathname,
  "--outDir",
  types.pathname,
  new URL("mod.ts", packageDir).pathname,
]);
// Declarations keep the sources' `.ts` specifiers; published ones point at `.js` (→ `.d.ts`).
for await (const file of walk(types)) {
  const text = await Deno.readTextFile(file);
  await Deno.writeTextFile(
    file,
    text.replace(/(from\s+["']\.{1,2}\/[^"']*?)\.ts(["'])/g, "$1.js$2")
      .replace(/(import\(["']\.{1,2}\/[^"']*?)\.ts(["']\))/g, "$1.js$2"),
  );
}
console.log(`built ${new URL("switchboard_client.js", dist).pathname} and ${types.pathname}`);
