import assert from "node:assert/strict";
import { decodeBase64Url, encodeBase64Url } from "./mod.ts";

Deno.test("encodeBase64Url() and decodeBase64Url() round-trip without padding", () => {
  for (const length of [0, 1, 2, 3, 31, 32, 100_000]) {
    const bytes = new Uint8Array(length).map((_, index) => (index * 37) & 255);
    const text = encodeBase64Url(bytes);
    assert.match(text, /^[A-Za-z0-9_-]*$/);
    assert.deepEqual(decodeBase64Url(text), bytes);
  }
});

Deno.test("encodeBase64Url() gives the RFC 4648 vectors in the URL alphabet, unpadded", () => {
  const encode = (text: string) => encodeBase64Url(new TextEncoder().encode(text));
  assert.equal(encode("f"), "Zg");
  assert.equal(encode("fo"), "Zm8");
  assert.equal(encode("foobar"), "Zm9vYmFy");
  assert.equal(encodeBase64Url(new Uint8Array([251, 255, 191])), "-_-_");
  assert.deepEqual(decodeBase64Url("Zg=="), new TextEncoder().encode("f"));
});

Deno.test("decodeBase64Url() refuses other alphabets", () => {
  assert.throws(() => decodeBase64Url("ab+/"), SyntaxError);
  assert.throws(() => decodeBase64Url("a b"), SyntaxError);
});
