/**
 * Builds every island in `islands/` into content-hashed browser bundles under
 * `_build/islands/` with a manifest. Skips the work when no source changed.
 *
 *     deno run -A scripts/build_islands.ts [--force]
 */
import { sha256Hex } from "./_hash.ts";

const root = new URL("../", import.meta.url);
const buildDir = new URL("_build/", root);
const outDir = new URL("_build/islands/", root);
const manifestUrl = new URL("manifest.json", outDir);
const SOURCE_FOLDERS = ["islands", "lib", "components"];

async function sourceFiles(): Promise<string[]> {
  const files: string[] = ["deno.json", "deno.lock"];
  async function walk(folder: string): Promise<void> {
    for await (const entry of Deno.readDir(new URL(folder, root))) {
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (/\.(ts|tsx)$/.test(entry.name) && !/_test\.tsx?$/.test(entry.name)) {
        files.push(path);
      }
    }
  }
  for (const folder of SOURCE_FOLDERS) await walk(folder);
  return files.sort();
}

async function hashSources(files: string[]): Promise<string> {
  const hasher: string[] = [];
  for (const file of files) {
    const bytes = await Deno.readFile(new URL(file, root)).catch(() => new Uint8Array());
    hasher.push(`${file}:${await sha256Hex(bytes)}`);
  }
  return await sha256Hex(new TextEncoder().encode(hasher.join("\n")));
}

async function islandNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(new URL("islands", root))) {
    const match = /^([A-Z][A-Za-z0-9]*)\.tsx$/.exec(entry.name);
    if (entry.isFile && match) names.push(match[1]!);
  }
  return names.sort();
}

async function build(force: boolean): Promise<void> {
  const sourceHash = await hashSources(await sourceFiles());
  if (!force) {
    try {
      const existing = JSON.parse(await Deno.readTextFile(manifestUrl));
      if (existing.sourceHash === sourceHash) {
        console.log("islands: up to date");
        return;
      }
    } catch { /* no build yet */ }
  }
  const names = await islandNames();
  const entriesDir = new URL("entries/", buildDir);
  const stagingDir = new URL("staging/", buildDir);
  await Deno.remove(entriesDir, { recursive: true }).catch(() => {});
  await Deno.remove(stagingDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(entriesDir, { recursive: true });
  const entryPaths: string[] = [];
  for (const name of names) {
    const path = new URL(`${name}.ts`, entriesDir);
    await Deno.writeTextFile(
      path,
      `import Island from "../../islands/${name}.tsx";\n` +
        `import { hydrateIslands } from "../../lib/islands/hydrate.ts";\n` +
        `hydrateIslands(${JSON.stringify(name)}, Island);\n`,
    );
    entryPaths.push(path.pathname);
  }
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform=browser",
      "--minify",
      "--code-splitting",
      `--outdir=${stagingDir.pathname}`,
      ...entryPaths,
    ],
    cwd: root.pathname,
    stdout: "inherit",
    stderr: "inherit",
  });
  const status = await command.output();
  if (!status.success) throw new Error("deno bundle failed");

  // The service worker (lib/web_app/service_worker.ts): one classic script, served at /sw.js.
  const worker = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform=browser",
      "--minify",
      `--output=${new URL("sw.js", buildDir).pathname}`,
      "lib/web_app/service_worker.ts",
    ],
    cwd: root.pathname,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!worker.success) throw new Error("deno bundle of the service worker failed");

  // Entries get content-hashed names; esbuild already names shared chunks by content.
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(outDir, { recursive: true });
  const islands: Record<string, string> = {};
  const files: string[] = [];
  for await (const entry of Deno.readDir(stagingDir)) {
    const bytes = await Deno.readFile(new URL(entry.name, stagingDir));
    const name = entry.name.replace(/\.js$/, "");
    let fileName = entry.name;
    if (names.includes(name)) {
      fileName = `${name}-${(await sha256Hex(bytes)).slice(0, 10)}.js`;
      islands[name] = `/_islands/${fileName}`;
    }
    await Deno.writeFile(new URL(fileName, outDir), bytes);
    files.push(fileName);
  }
  await Deno.writeTextFile(
    manifestUrl,
    JSON.stringify({ sourceHash, islands, files: files.sort() }, null, 2),
  );
  await Deno.remove(stagingDir, { recursive: true });
  console.log(`islands: built ${names.join(", ")}`);
}

/**
 * Runs `work` holding `_build/.lock`, so that builds started side by side (test
 * processes of `deno test --parallel` after a source changed) run one after
 * another: the later one then finds the bundles up to date instead of deleting
 * the staging folders the first one is writing. A lock older than two minutes
 * is left from a build that died and is taken over.
 */
async function withBuildLock(work: () => Promise<void>): Promise<void> {
  await Deno.mkdir(buildDir, { recursive: true });
  const lock = new URL(".lock", buildDir);
  while (true) {
    try {
      (await Deno.open(lock, { createNew: true, write: true })).close();
      break;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      const age = Date.now() - ((await Deno.stat(lock).catch(() => null))?.mtime?.getTime() ?? 0);
      if (age > 120_000) await Deno.remove(lock).catch(() => {});
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    await work();
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
}

await withBuildLock(() => build(Deno.args.includes("--force")));
