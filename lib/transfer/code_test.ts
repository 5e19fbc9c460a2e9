import assert from "node:assert/strict";
import { CODE_ALPHABET, CODE_LENGTH, CODE_SPACE, generateCode, normalizeCode } from "./code.ts";

Deno.test("generateCode() uses only the unambiguous alphabet", () => {
  for (const banned of ["0", "O", "1", "I", "L", "U"]) assert.ok(!CODE_ALPHABET.includes(banned));
  assert.equal(new Set(CODE_ALPHABET).size, CODE_ALPHABET.length);
  for (let index = 0; index < 2000; index++) {
    const code = generateCode();
    assert.equal(code.length, CODE_LENGTH);
    for (const character of code) assert.ok(CODE_ALPHABET.includes(character), code);
  }
  assert.equal(CODE_SPACE, 729_000_000);
});

Deno.test("generateCode() spreads over the whole alphabet evenly", () => {
  const counts = new Map<string, number>();
  const samples = 3000;
  for (let index = 0; index < samples; index++) {
    for (const character of generateCode()) counts.set(character, (counts.get(character) ?? 0) + 1);
  }
  assert.equal(counts.size, CODE_ALPHABET.length);
  const expected = (samples * CODE_LENGTH) / CODE_ALPHABET.length;
  for (const [character, count] of counts) {
    assert.ok(Math.abs(count - expected) < expected * 0.25, `${character}: ${count}`);
  }
});

Deno.test("normalizeCode() accepts lower case, spaces and dashes, and refuses the rest", () => {
  assert.equal(normalizeCode("k7qx3m"), "K7QX3M");
  assert.equal(normalizeCode(" k7q-x3m "), "K7QX3M");
  assert.equal(normalizeCode("K7Q X3M"), "K7QX3M");
  assert.equal(normalizeCode("K7QX3"), null);
  assert.equal(normalizeCode("K7QX3MM"), null);
  assert.equal(normalizeCode("K7QX0M"), null, "0 is not in the alphabet");
  assert.equal(normalizeCode("K7QXIM"), null, "I is not in the alphabet");
  assert.equal(normalizeCode(""), null);
  assert.equal(normalizeCode("ÄÖÜ123"), null);
});
