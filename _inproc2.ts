import { KvBroker } from "./lib/realtime/mod.ts";
import { NotificationCenter } from "./lib/notifications/mod.ts";
const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
const kv = await Deno.openKv(path);
const stats = { n: 0, ms: 0, events: 0, max: 0 };
const broker = new KvBroker(kv, { kv: "local", maxChecks: 100, watchHeads: false, onCommit: (c) => { stats.n++; stats.ms += c.ms; stats.max = Math.max(stats.max, c.ms); } });
const center = new NotificationCenter({ kv, broker, isolate: "x", config: { NOTIFY_MAX_RECIPIENTS: 10000, NOTIFY_EXTRA_TYPES: ["bench.ping"] } }, { sweep: false, trimChance: 0 });
const users = Array.from({ length: 1000 }, (_, i) => `u${i}`);
for (let r = 0; r < 8; r++) {
  stats.n = 0; stats.ms = 0; stats.max = 0;
  let t = performance.now();
  await center.store.preferencesOf(users);
  const prefs = performance.now() - t;
  t = performance.now();
  await center.publish({ userIds: users, type: "bench.ping", data: { r } });
  console.log(`round ${r}: prefs ${prefs.toFixed(0)} ms, publish ${(performance.now() - t).toFixed(0)} ms; commits ${stats.n}, sum ${stats.ms.toFixed(0)}, max ${stats.max.toFixed(0)}`);
}
Deno.exit(0);
