const path = `${await Deno.makeTempDir()}/kv.sqlite3`;
const kv = await Deno.openKv(path);
const rec = { id: "01JF3X7Q9M2W4R8T6Y1B5N0C3D", userId: "u123", type: "bench.ping", data: { r: 1, sentAt: 123456789 }, timestamp: new Date().toISOString(), requiresAck: false, read: false, readAt: null, status: "pending", sentAt: new Date().toISOString(), deliveredAt: null, acknowledged: false, acknowledgedAt: null, retryCount: 0, lastRetryAt: null, seq: "01JF3X7Q9M2W4R8T6Y1B5N0C3D", nextRetryAt: null };
for (const [label, expire, value] of [["obj+expire", true, rec], ["obj", false, rec], ["str+expire", true, "01JF3X7Q9M2W4R8T6Y1B5N0C3D"], ["str", false, "01JF3X7Q9M2W4R8T6Y1B5N0C3D"]] as const) {
  let n = 0; const t = performance.now();
  for (let c = 0; c < 20; c++) {
    const op = kv.atomic();
    for (let i = 0; i < 800; i++) op.set(["x", label, n++], value, expire ? { expireIn: 86400000 } : undefined);
    await op.commit();
  }
  console.log(label, ((performance.now() - t) * 1000 / n).toFixed(1), "µs/mutation");
}
