import { monitorEventLoopDelay } from "node:perf_hooks";
import { memoryUsage } from "node:process";
import type { MetricsRegistry } from "./registry.ts";

/**
 * Process metrics of one isolate, labelled `isolate` (each isolate reports its
 * own, and `/metrics` sums reports, so the label keeps them apart): resident
 * memory, V8 heap, event-loop delay and start time. Read at every snapshot of the
 * registry (a collector), not on a timer of their own. The event-loop delay comes
 * from `monitorEventLoopDelay` (node:perf_hooks, sampled every 10 ms) and covers
 * the time since the previous snapshot.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./registry.ts";
 *
 * const registry = new MetricsRegistry();
 * using _probe = watchProcess(registry, { isolate: "a1" });
 * registry.snapshot()['process_resident_memory_bytes{isolate="a1"}']; // e.g. 83_886_080
 * ```
 */
export function watchProcess(
  registry: MetricsRegistry,
  options: { isolate: string },
): Disposable {
  const labels = { isolate: options.isolate };
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const startedAt = Date.now() / 1000;
  let stopped = false;
  registry.addCollector(() => {
    if (stopped) return;
    const memory = memoryUsage();
    registry.set("process_resident_memory_bytes", labels, memory.rss);
    registry.set("switchboard_heap_used_bytes", labels, memory.heapUsed);
    registry.set("switchboard_heap_total_bytes", labels, memory.heapTotal);
    registry.set("process_start_time_seconds", labels, startedAt);
    if (delay.count > 0) {
      for (
        const [quantile, nanoseconds] of [
          ["0.5", delay.percentile(50)],
          ["0.99", delay.percentile(99)],
          ["1", delay.max],
        ] as const
      ) {
        registry.set(
          "switchboard_event_loop_lag_seconds",
          { ...labels, quantile },
          Math.max(0, nanoseconds / 1e9),
        );
      }
    }
    delay.reset();
  });
  return {
    [Symbol.dispose]() {
      stopped = true;
      delay.disable();
    },
  };
}
