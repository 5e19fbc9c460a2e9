import assert from "node:assert/strict";
import { exceedsUtf8Bytes, utf8Bytes } from "./mod.ts";

Deno.test("exceedsUtf8Bytes agrees with encoding for ASCII, 2-, 3- and 4-byte characters at every length around the limit", () => {
  for (const character of ["a", "é", "€", "😀"]) {
    for (let count = 0; count <= 40; count++) {
      const text = character.repeat(count);
      for (const limit of [0, 1, 10, 30, 45, 60, 100, 160]) {
        assert.equal(
          exceedsUtf8Bytes(text, limit),
          utf8Bytes(text) > limit,
          `${JSON.stringify(character)} × ${count}, limit ${limit}`,
        );
      }
    }
  }
});
