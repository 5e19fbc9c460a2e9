import assert from "node:assert/strict";
import { openKv } from "./mod.ts";

Deno.test("openKv() handles of one file survive concurrent atomic commits without 'database is locked'", async () => {
  const path = `${await Deno.makeTempDir()}/nested/kv.sqlite3`;
  const handles = await Promise.all([openKv(path), openKv(path), openKv(path)]);
  try {
    // Read-check-write on one shared key is what meets SQLite's lock upgrade conflict.
    const results = await Promise.all(Array.from({ length: 300 }, async (_, index) => {
      const kv = handles[index % handles.length]!;
      const shared = await kv.get(["shared"]);
      return await kv.atomic().check(shared).set(["shared"], index).set(["counter", index], index)
        .commit();
    }));
    const committed = results.filter((result) => result.ok).length;
    assert.ok(committed >= 1);
    await Promise.all(
      Array.from({ length: 30 }, (_, index) => handles[index % 3]!.set(["plain", index], index)),
    );
    let count = 0;
    for await (const _ of handles[0]!.list({ prefix: ["counter"] })) count += 1;
    assert.equal(count, committed);
    assert.equal((await handles[1]!.get<number>(["plain", 29])).value, 29);
  } finally {
    for (const kv of handles) kv.close();
  }
});
