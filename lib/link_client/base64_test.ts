import assert from "node:assert/strict";
import { decodeBase64Url, encodeBase64Url } from "./base64.ts";

Deno.test("encodeBase64Url() and decodeBase64Url() round-trip without padding", () => {
  for (const length of [0, 1, 2, 3, 31, 32, 100_000]) {
    const bytes = new Uint8Array(length).map((_, index) => (index * 37) & 255);
    const text = encodeBase64Url(bytes);
    assert.match(text, /^[A-Za-z0-9_-]*$/);
    assert.deepEqual(decodeBase64Url(text), bytes);
  }
});

Deno.test("decodeBase64Url() refuses other alphabets", () => {
  assert.throws(() => decodeBase64Url("ab+/"), SyntaxError);
  assert.throws(() => decodeBase64Url("a b"), SyntaxError);
});
