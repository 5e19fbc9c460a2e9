/** Metric values keyed by `name{label="value",...}`. */
export type MetricsSnapshot = Record<string, number>;

/** Help texts and kinds of every metric Switchboard exports. */
export const METRIC_HELP: Record<
  string,
  { help: string; kind: "counter" | "gauge" | "histogram" }
> = {
  switchboard_http_request_duration_seconds: {
    help: "HTTP requests by route pattern, method and status: time to the response head",
    kind: "histogram",
  },
  switchboard_delivery_latency_seconds: {
    help: "Topic events from publish (commit time) to a connection's send, by kind of stream",
    kind: "histogram",
  },
  switchboard_topic_commits_total: {
    help: "Topic-log commits by outcome and how the head was known",
    kind: "counter",
  },
  switchboard_topic_commit_events_total: { help: "Events in topic-log commits", kind: "counter" },
  process_resident_memory_bytes: {
    help: "Resident memory of the process, as each isolate sees it (labelled by isolate)",
    kind: "gauge",
  },
  switchboard_heap_used_bytes: { help: "V8 heap in use, per isolate", kind: "gauge" },
  switchboard_heap_total_bytes: { help: "V8 heap reserved, per isolate", kind: "gauge" },
  switchboard_event_loop_lag_seconds: {
    help: "Event-loop delay per isolate over the last report interval (quantile 0.5, 0.99, 1)",
    kind: "gauge",
  },
  process_start_time_seconds: {
    help: "When the isolate started (Unix seconds), per isolate",
    kind: "gauge",
  },
  switchboard_connections_open: { help: "Open realtime connections", kind: "gauge" },
  switchboard_connections_total: { help: "Realtime connections accepted", kind: "counter" },
  switchboard_messages_in_total: { help: "Frames received from clients", kind: "counter" },
  switchboard_messages_out_total: { help: "Frames sent to clients", kind: "counter" },
  switchboard_deliveries_total: { help: "Topic events delivered to subscribers", kind: "counter" },
  switchboard_publishes_total: { help: "Topic events published", kind: "counter" },
  switchboard_resumes_total: { help: "Subscriptions resumed from an offset", kind: "counter" },
  switchboard_rate_limited_total: {
    help: "Requests or frames rejected by a rate limit",
    kind: "counter",
  },
  switchboard_frames_rejected_total: {
    help: "Inbound frames rejected as invalid",
    kind: "counter",
  },
  switchboard_slow_consumers_total: {
    help: "Connections closed for a full send queue",
    kind: "counter",
  },
  switchboard_topic_watches: { help: "Active kv.watch streams on topic heads", kind: "gauge" },
  switchboard_topic_feeds: { help: "Topics with local subscribers", kind: "gauge" },
  switchboard_transfer_sessions_total: { help: "Transfer session events by kind", kind: "counter" },
  switchboard_transfer_join_rejections_total: { help: "Rejected joins by reason", kind: "counter" },
  switchboard_signaling_relayed_total: { help: "Signaling messages relayed", kind: "counter" },
  switchboard_turn_service_errors_total: {
    help: "Failed requests for TURN service credentials",
    kind: "counter",
  },
  switchboard_uploads_total: { help: "Link-mode uploads completed", kind: "counter" },
  switchboard_downloads_total: { help: "Link-mode downloads started", kind: "counter" },
  switchboard_notifications_total: { help: "Notifications by event", kind: "counter" },
  switchboard_chat_messages_total: { help: "Chat messages stored", kind: "counter" },
  switchboard_chat_refused_total: {
    help: "Chat connections refused before the upgrade, by reason",
    kind: "counter",
  },
  switchboard_errors_total: { help: "Server errors by where they happened", kind: "counter" },
  switchboard_background_failures_total: {
    help: "Failed runs of background loops (sweeps, heartbeats, refreshes), by loop",
    kind: "counter",
  },
  switchboard_isolates: { help: "Isolates that reported metrics recently", kind: "gauge" },
};

const UNSAFE_LABEL = /["\\\n]/g;

function seriesKey(name: string, labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return name;
  // One label is the common case on hot paths: no sorting, no array building.
  if (entries.length === 1) {
    const [key, value] = entries[0]!;
    return `${name}{${key}="${value.replace(UNSAFE_LABEL, "_")}"}`;
  }
  const parts = entries.sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}="${value.replace(UNSAFE_LABEL, "_")}"`);
  return `${name}{${parts.join(",")}}`;
}

/**
 * Bucket upper bounds (seconds) of every histogram. Latencies of a realtime
 * service sit between a millisecond and a few seconds.
 */
export const HISTOGRAM_BUCKETS: Record<string, readonly number[]> = {
  switchboard_http_request_duration_seconds: [
    0.001,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
  ],
  switchboard_delivery_latency_seconds: [
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
  ],
};

const DEFAULT_BUCKETS = HISTOGRAM_BUCKETS.switchboard_http_request_duration_seconds!;

/** A handle on one histogram series (one label set), for hot paths. */
export interface HistogramHandle {
  /** Counts one observation of `value` (seconds). */
  observe(value: number): void;
}

/**
 * One histogram series: per-bucket counts (not cumulative) while counting, so
 * an observation is one array increment; {@linkcode MetricsRegistry.snapshot}
 * writes the cumulative `_bucket`, `_sum` and `_count` series, which sum across
 * isolates like any counter.
 */
class HistogramSeries implements HistogramHandle {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array(bounds.length + 1).fill(0);
  }
  observe(value: number): void {
    let index = 0;
    while (index < this.bounds.length && value > this.bounds[index]!) index++;
    this.counts[index]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

/** `name{labels,le="bound"}`: labels sorted as {@linkcode seriesKey} does, `le` last. */
function bucketKey(name: string, labelPart: string, le: string): string {
  return `${name}_bucket{${labelPart ? `${labelPart},` : ""}le="${le}"}`;
}

/** A handle on one series, for hot paths (no key building per call). */
export interface SeriesHandle {
  add(amount?: number): void;
}

/** In-memory metrics of one isolate. */
export class MetricsRegistry {
  #values = new Map<string, number>();
  #handles = new Map<string, SeriesHandle>();
  #histograms = new Map<string, HistogramSeries>();
  #collectors: (() => void)[] = [];

  /**
   * Adds a function that sets gauges from a probe (memory, event-loop delay)
   * right before every snapshot, so they are as fresh as the report that carries them.
   */
  addCollector(collect: () => void): void {
    this.#collectors.push(collect);
  }

  /** A cached handle on one counter or gauge series. */
  series(name: string, labels: Record<string, string> = {}): SeriesHandle {
    const key = seriesKey(name, labels);
    let handle = this.#handles.get(key);
    if (!handle) {
      const values = this.#values;
      handle = { add: (amount = 1) => values.set(key, (values.get(key) ?? 0) + amount) };
      this.#handles.set(key, handle);
    }
    return handle;
  }

  /** Adds `amount` (default 1) to a counter. */
  increment(name: string, labels: Record<string, string> = {}, amount = 1): void {
    const key = seriesKey(name, labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + amount);
  }

  /** Moves a gauge by `delta`. */
  adjust(name: string, labels: Record<string, string>, delta: number): void {
    this.increment(name, labels, delta);
  }

  /** Sets a gauge. */
  set(name: string, labels: Record<string, string>, value: number): void {
    this.#values.set(seriesKey(name, labels), value);
  }

  /** A cached handle on one histogram series (buckets from {@linkcode HISTOGRAM_BUCKETS}). */
  histogram(name: string, labels: Record<string, string> = {}): HistogramHandle {
    const key = seriesKey(name, labels);
    let series = this.#histograms.get(key);
    if (!series) {
      series = new HistogramSeries(HISTOGRAM_BUCKETS[name] ?? DEFAULT_BUCKETS);
      this.#histograms.set(key, series);
    }
    return series;
  }

  /** Counts one observation (seconds) of a histogram. */
  observe(name: string, labels: Record<string, string>, value: number): void {
    this.histogram(name, labels).observe(value);
  }

  /** The value of one series (0 when never touched). */
  get(name: string, labels: Record<string, string> = {}): number {
    return this.#values.get(seriesKey(name, labels)) ?? 0;
  }

  /** A copy of every series, histograms as cumulative `_bucket`, `_sum` and `_count` series. */
  snapshot(): MetricsSnapshot {
    for (const collect of this.#collectors) {
      try {
        collect();
      } catch { /* a probe that fails leaves its gauges as they were */ }
    }
    const snapshot: MetricsSnapshot = Object.fromEntries(this.#values);
    for (const [key, series] of this.#histograms) {
      const brace = key.indexOf("{");
      const name = brace < 0 ? key : key.slice(0, brace);
      const labelPart = brace < 0 ? "" : key.slice(brace + 1, -1);
      const suffix = brace < 0 ? "" : `{${labelPart}}`;
      let cumulative = 0;
      series.bounds.forEach((bound, index) => {
        cumulative += series.counts[index]!;
        snapshot[bucketKey(name, labelPart, String(bound))] = cumulative;
      });
      snapshot[bucketKey(name, labelPart, "+Inf")] = series.count;
      snapshot[`${name}_sum${suffix}`] = series.sum;
      snapshot[`${name}_count${suffix}`] = series.count;
    }
    return snapshot;
  }
}
