import type { IsolateReport, MetricsSnapshot } from "../metrics/mod.ts";

/** What each isolate adds to its metrics report (see server.ts). */
export interface IsolateDetails {
  topics: Array<{ topic: string; knownHead: number; subscribers: number }>;
  problems: Array<Record<string, unknown>>;
}

/** Everything the admin dashboard shows, recomputed every few seconds. */
export interface AdminSnapshot {
  at: string;
  isolates: Array<{ isolate: string; ageMs: number; connections: Record<string, number> }>;
  connections: Record<string, number>;
  topics: Array<{ topic: string; head: number; subscribers: number; lag: number }>;
  transfers: Record<string, number>;
  notifications: Record<string, number>;
  rateLimited: Record<string, number>;
  counters: Record<string, number>;
  problems: Array<Record<string, unknown>>;
}

/** Parses `name{a="x",b="y"}` into its name and labels. */
function parseSeries(series: string): { name: string; labels: Record<string, string> } {
  const open = series.indexOf("{");
  if (open < 0) return { name: series, labels: {} };
  const labels: Record<string, string> = {};
  for (const match of series.slice(open + 1, -1).matchAll(/(\w+)="([^"]*)"/g)) {
    labels[match[1]!] = match[2]!;
  }
  return { name: series.slice(0, open), labels };
}

/** Sums the series of `name` by one label. */
function byLabel(values: MetricsSnapshot, name: string, label: string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const [series, value] of Object.entries(values)) {
    const parsed = parseSeries(series);
    if (parsed.name !== name) continue;
    const key = parsed.labels[label] ?? "all";
    sums[key] = (sums[key] ?? 0) + value;
  }
  return sums;
}

function total(values: MetricsSnapshot, name: string): number {
  return Object.values(byLabel(values, name, "__none__")).reduce((sum, value) => sum + value, 0);
}

/** Where {@linkcode buildAdminSnapshot} reads what the isolates' reports do not hold. */
export interface AdminSources {
  /** A topic's head offset (0 for an empty topic). */
  headOf(topic: string): Promise<number>;
  /** Transfer sessions by state. */
  transferStates(): Promise<Record<string, number>>;
}

/** Builds the dashboard view from every isolate's report and a few KV reads. */
export async function buildAdminSnapshot(
  reports: IsolateReport[],
  sources: AdminSources,
): Promise<AdminSnapshot> {
  const { headOf } = sources;
  const now = Date.now();
  const summed: MetricsSnapshot = {};
  for (const report of reports) {
    for (const [series, value] of Object.entries(report.values)) {
      summed[series] = (summed[series] ?? 0) + value;
    }
  }
  const topicRows = new Map<string, { knownHeads: number[]; subscribers: number }>();
  const problems: Array<Record<string, unknown>> = [];
  for (const report of reports) {
    const details = report.details as IsolateDetails | null;
    for (const feed of details?.topics ?? []) {
      const row = topicRows.get(feed.topic) ?? { knownHeads: [], subscribers: 0 };
      row.knownHeads.push(feed.knownHead);
      row.subscribers += feed.subscribers;
      topicRows.set(feed.topic, row);
    }
    problems.push(...(details?.problems ?? []));
  }
  const busiest = [...topicRows.entries()].sort(([, a], [, b]) => b.subscribers - a.subscribers)
    .slice(0, 20);
  const topics = await Promise.all(busiest.map(async ([topic, row]) => {
    const head = await headOf(topic);
    return { topic, head, subscribers: row.subscribers, lag: head - Math.min(...row.knownHeads) };
  }));
  problems.sort((a, b) => String(b.time).localeCompare(String(a.time)));
  return {
    at: new Date(now).toISOString(),
    isolates: reports.map((report) => ({
      isolate: report.isolate,
      ageMs: now - report.at,
      connections: byLabel(report.values, "switchboard_connections_open", "kind"),
    })).sort((a, b) => a.isolate.localeCompare(b.isolate)),
    connections: byLabel(summed, "switchboard_connections_open", "kind"),
    topics,
    transfers: await sources.transferStates(),
    notifications: byLabel(summed, "switchboard_notifications_total", "event"),
    rateLimited: byLabel(summed, "switchboard_rate_limited_total", "bucket"),
    counters: {
      messagesIn: total(summed, "switchboard_messages_in_total"),
      messagesOut: total(summed, "switchboard_messages_out_total"),
      deliveries: total(summed, "switchboard_deliveries_total"),
      publishes: total(summed, "switchboard_publishes_total"),
      resumes: total(summed, "switchboard_resumes_total"),
      slowConsumers: total(summed, "switchboard_slow_consumers_total"),
      framesRejected: total(summed, "switchboard_frames_rejected_total"),
      uploads: total(summed, "switchboard_uploads_total"),
      downloads: total(summed, "switchboard_downloads_total"),
      chatMessages: total(summed, "switchboard_chat_messages_total"),
      errors: total(summed, "switchboard_errors_total"),
    },
    problems: problems.slice(0, 30),
  };
}
