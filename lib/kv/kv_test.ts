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

Deno.test("openKv() makes a new folder 0700 and the KV file and its siblings 0600", {
  ignore: Deno.build.os === "windows",
}, async () => {
  const folder = `${await Deno.makeTempDir()}/private`;
  const path = `${folder}/kv.sqlite3`;
  const kv = await openKv(path);
  try {
    await kv.set(["a"], 1);
    assert.equal((await Deno.stat(folder)).mode! & 0o777, 0o700);
    const files = [path, `${path}-wal`, `${path}-shm`];
    for (const file of files) {
      const mode = await Deno.stat(file).then((info) => info.mode! & 0o777, () => null);
      if (file === path) assert.equal(mode, 0o600, file);
      else assert.ok(mode === null || mode === 0o600, `${file}: ${mode?.toString(8)}`);
    }
  } finally {
    kv.close();
  }
});
