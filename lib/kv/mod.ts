/**
 * @module
 * Opening Deno KV from configuration: a file path (folders are made), `:memory:`,
 * or a URL for KV Connect (a self-hosted `denokv` or Deno Deploy).
 */

/** Opens KV at `path`. A local path's parent folder is created first. */
export async function openKv(path: string): Promise<Deno.Kv> {
  if (path === ":memory:") return await Deno.openKv(":memory:");
  // "default" is the platform's own KV: the managed database on Deno Deploy.
  if (path === "default") return await Deno.openKv();
  if (/^https?:\/\//.test(path)) return await Deno.openKv(path);
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  return await Deno.openKv(path);
}

/** Reads every entry under `prefix` into an array (for small prefixes only). */
export async function listAll<T>(
  kv: Deno.Kv,
  selector: Deno.KvListSelector,
  options: Deno.KvListOptions = {},
): Promise<Deno.KvEntry<T>[]> {
  const entries: Deno.KvEntry<T>[] = [];
  for await (const entry of kv.list<T>(selector, options)) entries.push(entry);
  return entries;
}
