import { z } from "zod";

const manifestSchema = z.object({
  sourceHash: z.string(),
  islands: z.record(z.string(), z.string()),
  files: z.array(z.string()),
});

/** What `scripts/build_islands.ts` wrote: island name → bundle URL, and every file served. */
export type IslandManifest = z.infer<typeof manifestSchema>;

/** Reads the manifest of built islands; a missing build is an error that says how to build. */
export async function readIslandManifest(path: string): Promise<IslandManifest> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`Island bundles are missing (${path}): run "deno task build" first`, {
      cause: error,
    });
  }
  return manifestSchema.parse(JSON.parse(text));
}
