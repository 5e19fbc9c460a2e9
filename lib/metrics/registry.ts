/** Metric values keyed by `name{label="value",...}`. */
export type MetricsSnapshot = Record<string, number>;

/** Help texts and kinds of every metric Switchboard exports. */
export const METRIC_HELP: Record<string, { help: string; kind: "counter" | "gauge" }> = {
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

/** A handle on one series, for hot paths (no key building per call). */
export interface SeriesHandle {
  add(amount?: number): void;
}

/** In-memory metrics of one isolate. */
export class MetricsRegistry {
  #values = new Map<string, number>();
  #handles = new Map<string, SeriesHandle>();

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

  /** The value of one series (0 when never touched). */
  get(name: string, labels: Record<string, string> = {}): number {
    return this.#values.get(seriesKey(name, labels)) ?? 0;
  }

  /** A copy of every series. */
  snapshot(): MetricsSnapshot {
    return Object.fromEntries(this.#values);
  }
}
