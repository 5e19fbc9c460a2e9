import assert from "node:assert/strict";
import { idTime, monotonicIds, newId } from "./mod.ts";

Deno.test("newId() makes distinct 26-character ULIDs carrying their time", () => {
  const ids = new Set(Array.from({ length: 5000 }, () => newId(1_700_000_000_000)));
  assert.equal(ids.size, 5000);
  for (const id of ids) {
    assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(idTime(id), 1_700_000_000_000);
  }
});

Deno.test("monotonicIds() sorts in the order ids were made, also within one millisecond", () => {
  const next = monotonicIds();
  const ids = Array.from({ length: 1000 }, () => next(1_700_000_000_000));
  assert.deepEqual([...ids].sort(), ids);
});
