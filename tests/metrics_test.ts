import assert from "node:assert/strict";
import { request, startServer, waitFor } from "./harness.ts";
import {
  INTEGRATION,
  openNotificationSocket,
  publishOk,
  userToken,
} from "./notifications_fixtures.ts";

/** One sample line of the exposition format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text (what a scraper does), checking every line is well formed. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line);
    if (type) {
      assert.ok(!types.has(type[1]!), `TYPE of ${type[1]} twice`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith("# HELP ")) continue;
    const match = /^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `malformed line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-z_]+)="([^"]*)"/g)) {
      labels[pair[1]!] = pair[2]!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { samples, types };
}

/** The buckets of one histogram series (labels without `le`), in order, and its count and sum. */
function histogram(samples: Sample[], name: string, labels: Record<string, string>) {
  const matches = (sample: Sample) =>
    Object.entries(labels).every(([key, value]) => sample.labels[key] === value);
  const buckets = samples.filter((sample) => sample.name === `${name}_bucket` && matches(sample))
    .map((sample) => ({ le: sample.labels.le!, value: sample.value }));
  const count = samples.find((sample) => sample.name === `${name}_count` && matches(sample));
  const sum = samples.find((sample) => sample.name === `${name}_sum` && matches(sample));
  return { buckets, count: count?.value, sum: sum?.value };
}

Deno.test({
  name: "/metrics exposes request-duration and publish→deliver histograms, process metrics, " +
    "_total counters; /readyz is ready",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const ready = await request(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(ready.body.ready, true);

    const token = await userToken(server, "ada");
    await using socket = (await openNotificationSocket(server, token)).socket;
    for (let index = 0; index < 3; index++) {
      const [id] = await publishOk(server, {
        userId: "ada",
        type: "success",
        data: { message: `n${index}` },
      });
      await socket.next((frame) => frame.id === id);
    }

    const { samples, types } = await waitFor(async () => {
      const scraped = parse(await (await fetch(`${server.url}/metrics`)).text());
      const delivered = histogram(scraped.samples, "switchboard_delivery_latency_seconds", {
        kind: "notifications",
      });
      return (delivered.count ?? 0) >= 3 ? scraped : null;
    }, { message: "3 deliveries in the latency histogram" });

    assert.equal(types.get("switchboard_http_request_duration_seconds"), "histogram");
    assert.equal(types.get("switchboard_delivery_latency_seconds"), "histogram");
    for (
      const [name, labels] of [
        ["switchboard_delivery_latency_seconds", { kind: "notifications" }],
        ["switchboard_http_request_duration_seconds", {
          route: "/api/notifications/publish",
          method: "POST",
          status: "202",
        }],
      ] as const
    ) {
      const { buckets, count, sum } = histogram(samples, name, labels);
      assert.ok(buckets.length >= 10, `${name}: ${buckets.length} buckets`);
      assert.equal(buckets.at(-1)!.le, "+Inf");
      const bounds = buckets.slice(0, -1).map((bucket) => Number(bucket.le));
      assert.deepEqual(bounds, [...bounds].sort((a, b) => a - b), `${name}: le in order`);
      for (let index = 1; index < buckets.length; index++) {
        assert.ok(buckets[index]!.value >= buckets[index - 1]!.value, `${name}: cumulative`);
      }
      assert.equal(buckets.at(-1)!.value, count, `${name}: +Inf is the count`);
      assert.ok(count! >= 3, `${name}: count ${count}`);
      assert.ok(sum! >= 0 && sum! < count! * 10, `${name}: sum ${sum}`);
    }

    for (const name of ["process_resident_memory_bytes", "switchboard_heap_used_bytes"]) {
      const sample = samples.find((sample) => sample.name === name);
      assert.ok(sample && sample.value > 0 && sample.labels.isolate, name);
    }
    assert.ok(
      samples.some((sample) =>
        sample.name === "switchboard_event_loop_lag_seconds" && sample.labels.quantile === "0.99"
      ),
      "event-loop lag",
    );
    // Counter families end in _total.
    for (const [name, type] of types) {
      if (type === "counter") assert.match(name, /_total$/, name);
    }
  },
});
