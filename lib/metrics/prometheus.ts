import { METRIC_HELP, type MetricsSnapshot } from "./registry.ts";

/** Renders summed snapshots in the Prometheus text exposition format. */
export function renderPrometheus(snapshot: MetricsSnapshot): string {
  const byName = new Map<string, string[]>();
  for (const [series, value] of Object.entries(snapshot).sort(([a], [b]) => a.localeCompare(b))) {
    const name = series.split("{")[0]!;
    const lines = byName.get(name) ?? [];
    lines.push(`${series} ${value}`);
    byName.set(name, lines);
  }
  for (const name of Object.keys(METRIC_HELP)) {
    if (!byName.has(name)) byName.set(name, [`${name} 0`]);
  }
  const out: string[] = [];
  for (const [name, lines] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    const meta = METRIC_HELP[name];
    if (meta) out.push(`# HELP ${name} ${meta.help}`, `# TYPE ${name} ${meta.kind}`);
    out.push(...lines);
  }
  return out.join("\n") + "\n";
}
