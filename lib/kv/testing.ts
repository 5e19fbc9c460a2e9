/**
 * @module
 * For tests: a KV handle that counts the atomic commits made through it, so a
 * test can assert that work was batched (a thin wrapper over the real KV).
 */

/** Wraps `kv`; `commits()` tells how many atomic operations were committed through it. */
export function countingCommits(kv: Deno.Kv): { kv: Deno.Kv; commits: () => number } {
  let commits = 0;
  const counting = new Proxy(kv, {
    get(target, property) {
      if (property === "atomic") {
        return () => {
          const operation = target.atomic();
          const commit = operation.commit.bind(operation);
          operation.commit = () => {
            commits += 1;
            return commit();
          };
          return operation;
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv: counting, commits: () => commits };
}
