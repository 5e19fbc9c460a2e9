/**
 * A latency model of Deno KV as Deno Deploy serves it: every strong operation
 * (atomic commit, `set`, `delete`, strong `get`/`getMany`, each page of a strong
 * `list`) waits a fixed time before it runs, an eventual read waits a shorter
 * time, and a `kv.watch` notification arrives a strong round trip after the
 * commit that caused it. The waits run concurrently, like network round trips:
 * the model adds latency, not a throughput limit.
 *
 * Used by benchmarks and tests (`SIMULATE_KV_LATENCY=94/7` is Frankfurt on
 * Deno's published figures); unset, no wrapper exists at all.
 */

/** Milliseconds a strong and an eventual KV round trip take in the model. */
export interface KvLatency {
  strongMs: number;
  eventualMs: number;
}

/**
 * Parses `"<strong_ms>/<eventual_ms>"` (e.g. `"94/7"`); a single number is used for
 * both. Null for anything else.
 *
 * @example
 * ```ts
 * parseKvLatency("94/7"); // { strongMs: 94, eventualMs: 7 }
 * parseKvLatency("fast"); // null
 * ```
 */
export function parseKvLatency(text: string): KvLatency | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(\d+(?:\.\d+)?)\s*)?$/.exec(text);
  if (!match) return null;
  const strongMs = Number(match[1]);
  const eventualMs = match[2] === undefined ? strongMs : Number(match[2]);
  if (strongMs > 10_000 || eventualMs > 10_000) return null;
  return { strongMs, eventualMs };
}

function pause(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

function readDelay(latency: KvLatency, options: { consistency?: Deno.KvConsistencyLevel } = {}) {
  return options.consistency === "eventual" ? latency.eventualMs : latency.strongMs;
}

/** A list iterator that pays one round trip per page, as KV Connect fetches pages. */
function delayedList<T>(
  source: Deno.KvListIterator<T>,
  delayMs: number,
  pageSize: number,
): Deno.KvListIterator<T> {
  let index = 0;
  let done = false;
  const iterator = {
    get cursor() {
      return source.cursor;
    },
    async next(): Promise<IteratorResult<Deno.KvEntry<T>, undefined>> {
      // A page is fetched when its first entry is asked for, and once more to learn the end.
      if (!done && index % pageSize === 0) await pause(delayMs);
      const result = await source.next();
      if (result.done) done = true;
      else index += 1;
      return result;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator as unknown as Deno.KvListIterator<T>;
}

/** Delays every watch notification by `delayMs`, keeping their order. */
function delayedWatch<T extends readonly unknown[]>(
  source: ReadableStream<T>,
  delayMs: number,
): ReadableStream<T> {
  const reader = source.getReader();
  let closed = false;
  return new ReadableStream<T>({
    async start(controller) {
      try {
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          // Timers of equal delay fire in the order they were set: order is kept.
          setTimeout(() => {
            if (!closed) controller.enqueue(value);
          }, delayMs);
        }
        setTimeout(() => {
          if (!closed) {
            closed = true;
            controller.close();
          }
        }, delayMs);
      } catch (error) {
        if (!closed) {
          closed = true;
          controller.error(error);
        }
      }
    },
    cancel(reason) {
      closed = true;
      return reader.cancel(reason);
    },
  });
}

/**
 * Wraps `kv` so that every operation pays the modelled round trip first (see the
 * module doc). `openKv` puts this outside its retries of a busy local file: a retry
 * is this machine's artifact, not a second round trip.
 *
 * @example
 * ```ts
 * const kv = withSimulatedLatency(await Deno.openKv(":memory:"), { strongMs: 94, eventualMs: 7 });
 * await kv.set(["a"], 1); // takes ≥ 94 ms
 * ```
 */
export function withSimulatedLatency(kv: Deno.Kv, latency: KvLatency): Deno.Kv {
  const strong = latency.strongMs;
  return new Proxy(kv, {
    get(target, property) {
      switch (property) {
        case "atomic":
          return () => {
            const operation = target.atomic();
            const commit = operation.commit.bind(operation);
            operation.commit = async () => {
              await pause(strong);
              return await commit();
            };
            return operation;
          };
        case "get":
          return async (key: Deno.KvKey, options?: { consistency?: Deno.KvConsistencyLevel }) => {
            await pause(readDelay(latency, options));
            return await target.get(key, options);
          };
        case "getMany":
          return async (
            keys: Deno.KvKey[],
            options?: { consistency?: Deno.KvConsistencyLevel },
          ) => {
            await pause(readDelay(latency, options));
            return await target.getMany(keys, options);
          };
        case "set":
          return async (key: Deno.KvKey, value: unknown, options?: { expireIn?: number }) => {
            await pause(strong);
            return await target.set(key, value, options);
          };
        case "delete":
          return async (key: Deno.KvKey) => {
            await pause(strong);
            return await target.delete(key);
          };
        case "list":
          return (selector: Deno.KvListSelector, options: Deno.KvListOptions = {}) => {
            const pageSize = Math.min(500, options.batchSize ?? options.limit ?? 100);
            return delayedList(
              target.list(selector, options),
              readDelay(latency, options),
              Math.max(1, pageSize),
            );
          };
        case "watch":
          return (keys: Deno.KvKey[], options?: { raw?: boolean }) =>
            delayedWatch(target.watch(keys, options), strong);
        default: {
          const value = Reflect.get(target, property, target);
          return typeof value === "function" ? value.bind(target) : value;
        }
      }
    },
  });
}
