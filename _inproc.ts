import { KvBroker } from "./lib/realtime/mod.ts";
import { NotificationCenter } from "./lib/notifications/mod.ts";
const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
const kv = await Deno.openKv(path);
const broker = new KvBroker(kv, { kv: "local", maxChecks: Number(Deno.args[0] ?? 100), onCommit: (c) => { stats.n++; stats.ms += c.ms; stats.events += c.events; } });
const stats = { n: 0, ms: 0, events: 0 };
const center = new NotificationCenter({ kv, broker, isolate: "x", config: { NOTIFY_MAX_RECIPIENTS: 10000, NOTIFY_EXTRA_TYPES: ["bench.ping"] } }, { sweep: false, trimChance: 0 });
const users = Array.from({ length: 1000 }, (_, i) => `u${i}`);
for (let r = 0; r < 6; r++) {
  stats.n = 0; stats.ms = 0; stats.events = 0;
  const t = performance.now();
  await center.publish({ userIds: users, type: "bench.ping", data: { r } });
  console.log(`round ${r}: ${(performance.now() - t).toFixed(0)} ms; commits ${stats.n}, sum commit ms ${stats.ms.toFixed(0)}, events ${stats.events}`);
}
const { profile } = await (globalThis as any).__session.post("Profiler.stop");
(globalThis as any).__report(profile);
Deno.exit(0);
