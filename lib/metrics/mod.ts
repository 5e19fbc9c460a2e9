/**
 * @module
 * Counters, gauges and histograms for `/metrics` (Prometheus text, written here:
 * see docs/operations.md for why not `prom-client`). Each isolate counts in memory and writes a
 * snapshot to KV every few seconds; `/metrics` only reads: it sums the snapshots of
 * every live isolate (its own taken from memory), so it covers the whole process
 * (and every instance sharing the KV), not only the isolate that answered.
 */
export {
  HISTOGRAM_BUCKETS,
  type HistogramHandle,
  METRIC_HELP,
  MetricsRegistry,
  type MetricsSnapshot,
  type SeriesHandle,
} from "./registry.ts";
export { watchProcess } from "./process.ts";
export {
  type IsolateReport,
  KvMetricsSharing,
  type KvMetricsSharingOptions,
} from "./kv_sharing.ts";
export { renderPrometheus } from "./prometheus.ts";
