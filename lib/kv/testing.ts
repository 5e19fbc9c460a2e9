/**
 * @module
 * For tests: KV handles that count the atomic commits (and other writes), the
 * round trips or the list calls and entries read made through them, so a test
 * can assert that work was batched or bounded, or that a path only reads (thin
 * wrappers over the real KV).
 */

/**
 * Wraps `kv`; `commits()` tells how many atomic operations were committed through
 * it, `writes()` how many writes of any kind (commits, `set`, `delete`).
 */
export function countingCommits(
  kv: Deno.Kv,
): { kv: Deno.Kv; commits: () => number; writes: () => number } {
  let commits = 0;
  let writes = 0;
  const counting = new Proxy(kv, {
    get(target, property) {
      if (property === "atomic") {
        return () => {
          const operation = target.atomic();
          const commit = operation.commit.bind(operation);
          operation.commit = () => {
            commits += 1;
            writes += 1;
            return commit();
          };
          return operation;
        };
      }
      const value = Reflect.get(target, property, target);
      if (property === "set" || property === "delete") {
        return (...args: unknown[]) => {
          writes += 1;
          return (value as (...args: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv: counting, commits: () => commits, writes: () => writes };
}

/** A KV handle whose round trips a test can count (see {@linkcode roundTripCounter}). */
export interface RoundTripCounter {
  /** Use this handle in the code under test. */
  kv: Deno.Kv;
  /**
   * Runs `work` with every KV operation held back until the previous level of
   * operations completed, and counts the levels it took: the number of
   * sequential KV round trips on its path (`eventualRoundTrips`: levels of
   * eventually consistent reads only). Deterministic, whatever the machine's load.
   */
  count<T>(
    work: () => Promise<T>,
  ): Promise<{ value: T; roundTrips: number; eventualRoundTrips: number }>;
}

/**
 * Wraps `kv` so that a test can count sequential round trips. While `count()`
 * runs, each operation (commit, `get`, `getMany`, `set`, `delete`, each page of a
 * `list`) waits at a gate; when the code under test has nothing else to do, the
 * counter opens the gate for every waiting operation at once (one round trip)
 * and waits for the next ones. Watches pass through.
 *
 * @example
 * ```ts
 * const counter = roundTripCounter(await Deno.openKv(":memory:"));
 * const { roundTrips } = await counter.count(() => counter.kv.set(["a"], 1));
 * // roundTrips === 1
 * ```
 */
export function roundTripCounter(kv: Deno.Kv): RoundTripCounter {
  let gating = false;
  let waiting: { release: () => void; eventual: boolean }[] = [];
  /** Released operations still running against the real KV. */
  let running = 0;
  /** Runs `operation` after the gate; it counts as running from its release until KV answered. */
  const gated = async <T>(eventual: boolean, operation: () => Promise<T>): Promise<T> => {
    if (!gating) return await operation();
    await new Promise<void>((release) =>
      waiting.push({
        release: () => {
          running += 1;
          release();
        },
        eventual,
      })
    );
    try {
      return await operation();
    } finally {
      running -= 1;
    }
  };
  const isEventual = (options: unknown) =>
    (options as { consistency?: string } | undefined)?.consistency === "eventual";
  const gatedList = <T>(source: Deno.KvListIterator<T>, pageSize: number, eventual: boolean) => {
    let index = 0;
    let done = false;
    const iterator = {
      get cursor() {
        return source.cursor;
      },
      async next() {
        const result = !done && index % pageSize === 0
          ? await gated(eventual, () => source.next())
          : await source.next();
        if (result.done) done = true;
        else index += 1;
        return result;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator as unknown as Deno.KvListIterator<T>;
  };
  const proxy = new Proxy(kv, {
    get(target, property) {
      switch (property) {
        case "atomic":
          return () => {
            const operation = target.atomic();
            const commit = operation.commit.bind(operation);
            operation.commit = () => gated(false, commit);
            return operation;
          };
        case "get":
        case "getMany":
        case "set":
        case "delete":
          return (...args: unknown[]) => {
            const reads = property === "get" || property === "getMany";
            const method = Reflect.get(target, property, target) as (
              ...args: unknown[]
            ) => Promise<unknown>;
            return gated(reads && isEventual(args[1]), () => method.apply(target, args));
          };
        case "list":
          return (selector: Deno.KvListSelector, options: Deno.KvListOptions = {}) =>
            gatedList(
              target.list(selector, options),
              Math.max(1, Math.min(500, options.batchSize ?? options.limit ?? 100)),
              isEventual(options),
            );
        default: {
          const value = Reflect.get(target, property, target);
          return typeof value === "function" ? value.bind(target) : value;
        }
      }
    },
  });
  const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
  return {
    kv: proxy,
    async count(work) {
      gating = true;
      let settled = false;
      let value: unknown;
      let failure: unknown;
      let failed = false;
      work().then(
        (result) => {
          settled = true;
          value = result;
        },
        (error) => {
          settled = true;
          failed = true;
          failure = error;
        },
      );
      let roundTrips = 0;
      let eventualRoundTrips = 0;
      let idle = 0;
      try {
        while (true) {
          // The next level starts once every operation of this one has its answer.
          while (running > 0) await turn();
          for (let index = 0; index < 5; index++) await turn();
          if (settled) break;
          if (waiting.length === 0) {
            // Waiting on a timer or on KV itself: not a new round trip yet.
            if (++idle > 5000) throw new Error("roundTripCounter: the work never finished");
            await new Promise((resolve) => setTimeout(resolve, 1));
            continue;
          }
          const released = waiting;
          waiting = [];
          // A level of eventual reads only is the cheaper kind of round trip (a local replica).
          if (released.every((item) => item.eventual)) eventualRoundTrips += 1;
          else roundTrips += 1;
          for (const item of released) item.release();
        }
      } finally {
        gating = false;
        const rest = waiting;
        waiting = [];
        for (const item of rest) item.release();
      }
      if (failed) throw failure;
      return {
        value: value as Awaited<ReturnType<typeof work>>,
        roundTrips,
        eventualRoundTrips,
      };
    },
  };
}

/** What {@linkcode countingLists} counted. */
export interface ListCounts {
  /** `list()` calls. */
  lists: number;
  /** Entries those lists yielded. */
  entries: number;
}

/**
 * Wraps `kv`; `counts()` tells how many `list()` calls were made through it and
 * how many entries they yielded, so a test can bound how much of a log a read
 * walks.
 *
 * @example
 * ```ts
 * const counting = countingLists(await Deno.openKv(":memory:"));
 * for await (const _ of counting.kv.list({ prefix: ["a"] })) {}
 * counting.counts(); // { lists: 1, entries: 0 }
 * ```
 */
export function countingLists(kv: Deno.Kv): { kv: Deno.Kv; counts: () => ListCounts } {
  const counts: ListCounts = { lists: 0, entries: 0 };
  const counting = new Proxy(kv, {
    get(target, property) {
      if (property === "list") {
        return <T>(selector: Deno.KvListSelector, options?: Deno.KvListOptions) => {
          counts.lists += 1;
          const source = target.list<T>(selector, options);
          const iterator = {
            get cursor() {
              return source.cursor;
            },
            async next() {
              const result = await source.next();
              if (!result.done) counts.entries += 1;
              return result;
            },
            [Symbol.asyncIterator]() {
              return iterator;
            },
          };
          return iterator as unknown as Deno.KvListIterator<T>;
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv: counting, counts: () => ({ ...counts }) };
}
