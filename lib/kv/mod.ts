/**
 * @module
 * Opening Deno KV from configuration: a file path (folders are made), `:memory:`,
 * or a URL for KV Connect (a self-hosted `denokv` or Deno Deploy).
 */

import { type KvLatency, withSimulatedLatency } from "./latency.ts";

export { type KvLatency, parseKvLatency, withSimulatedLatency } from "./latency.ts";

/** Options of {@linkcode openKv}. */
export interface OpenKvOptions {
  /** Makes every operation pay a modelled round trip (`SIMULATE_KV_LATENCY`); default none. */
  latency?: KvLatency | null | undefined;
}

/**
 * Opens KV at `path`. A local path's parent folder is created first (mode 0700),
 * and the SQLite file and its `-wal`/`-shm` siblings are made 0600: they hold the
 * server secret and every user's data. The handle retries opening, single reads,
 * writes and atomic commits while a local SQLite file is busy (see
 * `retryWhileBusy` below), so callers never see that transient error.
 */
export async function openKv(path: string, options: OpenKvOptions = {}): Promise<Deno.Kv> {
  // The modelled round trip wraps the busy retries: a busy local file is this machine's
  // artifact (Deno KV has no writer lock to wait for), so a retry pays no second round trip.
  const model = (kv: Deno.Kv) => options.latency ? withSimulatedLatency(kv, options.latency) : kv;
  if (path === ":memory:") return model(retryingKv(await Deno.openKv(":memory:")));
  // "default" is the platform's own KV: the managed database on Deno Deploy.
  if (path === "default") return model(await Deno.openKv());
  if (/^https?:\/\//.test(path)) return model(await Deno.openKv(path));
  const slash = path.lastIndexOf("/");
  // Only folders made here get 0700; an existing one (say /tmp) is not ours to change.
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true, mode: 0o700 });
  await createPrivately(path);
  // Isolates starting together open the same file; SQLite can be busy while
  // another one sets it up (WAL mode, migrations), so opening is retried too.
  const kv = await retryWhileBusy(() => Deno.openKv(path));
  // A file made by an older version (0644) is tightened too; SQLite gives new -wal and
  // -shm files the mode of the database file.
  await restrictToOwner([path, `${path}-wal`, `${path}-shm`]);
  return model(retryingKv(kv));
}

/** Creates an empty file with mode 0600 unless `path` exists (SQLite takes an empty file as new). */
async function createPrivately(path: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  try {
    const file = await Deno.open(path, { createNew: true, write: true, mode: 0o600 });
    file.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
}

/**
 * chmod 0600 on each of `paths` that exists (POSIX only). A file of another owner
 * (a shared setup an operator made on purpose) is left as it is.
 */
async function restrictToOwner(paths: string[]): Promise<void> {
  if (Deno.build.os === "windows") return;
  for (const file of paths) {
    try {
      await Deno.chmod(file, 0o600);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      if (error instanceof Deno.errors.PermissionDenied) continue;
      throw error;
    }
  }
}

const RETRIED = new Set(["get", "getMany", "set", "delete"]);

/**
 * Wraps a KV handle so that busy errors of a shared SQLite file are retried: the
 * one place busy retries happen (stores use the handle as it is).
 */
function retryingKv(kv: Deno.Kv): Deno.Kv {
  return new Proxy(kv, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === "atomic") {
        return () => {
          const operation = target.atomic();
          const commit = operation.commit.bind(operation);
          operation.commit = () => retryWhileBusy(commit);
          return operation;
        };
      }
      if (typeof property === "string" && RETRIED.has(property)) {
        return (...args: unknown[]) =>
          retryWhileBusy(() =>
            (value as (...args: unknown[]) => Promise<unknown>).apply(target, args)
          );
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * Whether KV at `path` is far: KV Connect (Deno Deploy, a self-hosted denokv),
 * or a local file under the latency model, which stands for those.
 */
export function kvDistance(path: string, options: OpenKvOptions = {}): "local" | "remote" {
  const remote = path === "default" || /^https?:\/\//.test(path);
  return remote || options.latency ? "remote" : "local";
}

/** Checks an atomic operation may carry: 100 on a local SQLite file or in memory, 10 remotely. */
export function kvCheckLimit(distance: "local" | "remote"): number {
  return distance === "local" ? 100 : 10;
}

/** True for the transient error a local SQLite KV gives when another isolate holds the write lock. */
function isKvBusy(error: unknown): boolean {
  return error instanceof Error && /database is locked|SQLITE_BUSY/i.test(error.message);
}

/**
 * Runs `operation`, retrying while the KV file is busy. Under `deno serve --parallel`
 * every isolate opens the same SQLite file, so concurrent commits can meet a lock.
 */
async function retryWhileBusy<T>(
  operation: () => Promise<T>,
  options: { attempts?: number } = {},
): Promise<T> {
  const attempts = options.attempts ?? 50;
  for (let attempt = 1;; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isKvBusy(error) || attempt >= attempts) throw error;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(50, attempt * 2) * Math.random())
      );
    }
  }
}
