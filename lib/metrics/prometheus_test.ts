import assert from "node:assert/strict";
import { renderPrometheus } from "./prometheus.ts";
import { MetricsRegistry, type MetricsSnapshot } from "./registry.ts";
import { watchProcess } from "./process.ts";
import { waitFor } from "../clock/testing.ts";

/** Sums snapshots as `/metrics` sums the reports of several isolates. */
function sum(...snapshots: MetricsSnapshot[]): MetricsSnapshot {
  const total: MetricsSnapshot = {};
  for (const snapshot of snapshots) {
    for (const [series, value] of Object.entries(snapshot)) {
      total[series] = (total[series] ?? 0) + value;
    }
  }
  return total;
}

Deno.test("histograms render cumulative buckets in le order, +Inf last, summed over isolates", () => {
  const one = new MetricsRegistry();
  const two = new MetricsRegistry();
  const name = "switchboard_delivery_latency_seconds";
  for (const value of [0.0004, 0.003, 0.003, 0.2]) one.observe(name, { kind: "chat" }, value);
  two.observe(name, { kind: "chat" }, 7);
  two.histogram(name, { kind: "topics" }).observe(0.02);
  const text = renderPrometheus(sum(one.snapshot(), two.snapshot()));
  const lines = text.split("\n");
  assert.equal(lines.filter((line) => line === `# TYPE ${name} histogram`).length, 1);
  const chat = lines.filter((line) => line.startsWith(`${name}_`) && line.includes('kind="chat"'));
  assert.deepEqual(chat, [
    `${name}_bucket{kind="chat",le="0.001"} 1`,
    `${name}_bucket{kind="chat",le="0.0025"} 1`,
    `${name}_bucket{kind="chat",le="0.005"} 3`,
    `${name}_bucket{kind="chat",le="0.01"} 3`,
    `${name}_bucket{kind="chat",le="0.025"} 3`,
    `${name}_bucket{kind="chat",le="0.05"} 3`,
    `${name}_bucket{kind="chat",le="0.1"} 3`,
    `${name}_bucket{kind="chat",le="0.25"} 4`,
    `${name}_bucket{kind="chat",le="0.5"} 4`,
    `${name}_bucket{kind="chat",le="1"} 4`,
    `${name}_bucket{kind="chat",le="2.5"} 4`,
    `${name}_bucket{kind="chat",le="5"} 4`,
    `${name}_bucket{kind="chat",le="10"} 5`,
    `${name}_bucket{kind="chat",le="+Inf"} 5`,
    `${name}_sum{kind="chat"} ${0.0004 + 0.003 + 0.003 + 0.2 + 7}`,
    `${name}_count{kind="chat"} 5`,
  ]);
  assert.ok(lines.includes(`${name}_count{kind="topics"} 1`));
  // Counters keep their `_total` name and TYPE counter; untouched ones show 0.
  assert.ok(lines.includes("# TYPE switchboard_publishes_total counter"));
  assert.ok(lines.includes("switchboard_publishes_total 0"));
});

Deno.test("watchProcess() reports memory, heap, start time and event-loop delay per isolate", async () => {
  const registry = new MetricsRegistry();
  using _probe = watchProcess(registry, { isolate: "a1" });
  const lagKey = 'switchboard_event_loop_lag_seconds{isolate="a1",quantile="1"}';
  // The delay monitor samples on the event loop every 10 ms: wait for its first samples.
  await waitFor(() => registry.snapshot()[lagKey] !== undefined);
  const snapshot = registry.snapshot();
  assert.ok(snapshot['process_resident_memory_bytes{isolate="a1"}']! > 1_000_000);
  assert.ok(snapshot['switchboard_heap_used_bytes{isolate="a1"}']! > 0);
  assert.ok(snapshot['process_start_time_seconds{isolate="a1"}']! > 1_600_000_000);
  const lag = snapshot[lagKey];
  assert.ok(lag !== undefined && lag >= 0 && lag < 5, `lag ${lag}`);
});
