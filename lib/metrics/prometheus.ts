import { METRIC_HELP, type MetricsSnapshot } from "./registry.ts";

const HISTOGRAM_PARTS = ["_bucket", "_sum", "_count"] as const;

/** The histogram a series belongs to (`x_bucket`, `x_sum`, `x_count` of a histogram `x`), or null. */
function histogramOf(name: string): string | null {
  for (const part of HISTOGRAM_PARTS) {
    if (!name.endsWith(part)) continue;
    const base = name.slice(0, -part.length);
    if (METRIC_HELP[base]?.kind === "histogram") return base;
  }
  return null;
}

/** Sort key of a histogram line: its labels without `le`, then bucket/sum/count, then `le`. */
function histogramOrder(series: string): [string, number, number] {
  const name = series.split("{")[0]!;
  const part = HISTOGRAM_PARTS.findIndex((suffix) => name.endsWith(suffix));
  const le = /le="([^"]+)"/.exec(series)?.[1];
  const labels = series.slice(name.length).replace(/,?le="[^"]+"/, "");
  const bound = le === undefined ? 0 : le === "+Inf" ? Infinity : Number(le);
  return [labels, part, bound];
}

function compareHistogramLines(a: string, b: string): number {
  const [labelsA, partA, boundA] = histogramOrder(a);
  const [labelsB, partB, boundB] = histogramOrder(b);
  if (labelsA !== labelsB) return labelsA < labelsB ? -1 : 1;
  if (partA !== partB) return partA - partB;
  return boundA - boundB;
}

/**
 * Renders summed snapshots in the Prometheus text exposition format: one
 * `# HELP`/`# TYPE` per family, histogram buckets in `le` order with `+Inf`
 * last, then `_sum` and `_count`, per label set. Counters and gauges never
 * touched show as 0 (histograms only once observed: their labels are not known
 * before).
 */
export function renderPrometheus(snapshot: MetricsSnapshot): string {
  const families = new Map<string, string[]>();
  for (const series of Object.keys(snapshot)) {
    const name = series.split("{")[0]!;
    const family = histogramOf(name) ?? name;
    const members = families.get(family) ?? [];
    members.push(series);
    families.set(family, members);
  }
  const out: string[] = [];
  const names = new Set([
    ...families.keys(),
    ...Object.keys(METRIC_HELP).filter((name) => METRIC_HELP[name]!.kind !== "histogram"),
  ]);
  for (const name of [...names].sort()) {
    const meta = METRIC_HELP[name];
    if (meta) out.push(`# HELP ${name} ${meta.help}`, `# TYPE ${name} ${meta.kind}`);
    const members = families.get(name);
    if (!members) {
      out.push(`${name} 0`);
      continue;
    }
    members.sort(meta?.kind === "histogram" ? compareHistogramLines : undefined);
    for (const series of members) out.push(`${series} ${snapshot[series]}`);
  }
  return out.join("\n") + "\n";
}
