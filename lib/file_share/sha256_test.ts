import assert from "node:assert/strict";
import { Sha256, sha256OfBlob, toHex } from "./sha256.ts";

const text = (value: string) => new TextEncoder().encode(value);

async function webCryptoHex(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource)));
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(length, offset + 65536)));
  }
  return bytes;
}

Deno.test("Sha256 matches the FIPS 180-4 and NIST test vectors", () => {
  const vectors: [string, string][] = [
    ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    [
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ],
    [
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
    ],
    [
      "The quick brown fox jumps over the lazy dog",
      "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592",
    ],
  ];
  for (const [input, expected] of vectors) {
    assert.equal(new Sha256().update(text(input)).hex(), expected, JSON.stringify(input));
  }
});

Deno.test("Sha256 of a million 'a' fed in uneven pieces matches the NIST vector", () => {
  const hash = new Sha256();
  const piece = text("a".repeat(997));
  let fed = 0;
  while (fed + piece.length <= 1_000_000) {
    hash.update(piece);
    fed += piece.length;
  }
  hash.update(text("a".repeat(1_000_000 - fed)));
  assert.equal(hash.length, 1_000_000);
  assert.equal(hash.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
});

Deno.test("Sha256 equals WebCrypto at every length around the block and padding edges", async () => {
  const bytes = randomBytes(300);
  for (let length = 0; length <= 300; length++) {
    const slice = bytes.subarray(0, length);
    assert.equal(new Sha256().update(slice).hex(), await webCryptoHex(slice), `length ${length}`);
  }
});

Deno.test("Sha256 gives the same digest however the input is split", async () => {
  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  const expected = await webCryptoHex(bytes);
  for (const sizes of [[1], [63, 65], [64], [65536], [1000, 1, 4095, 777_777]]) {
    const hash = new Sha256();
    let offset = 0;
    for (let i = 0; offset < bytes.length; i++) {
      const size = sizes[i % sizes.length]!;
      hash.update(bytes.subarray(offset, offset + size));
      offset += size;
    }
    assert.equal(hash.hex(), expected, `pieces ${sizes}`);
  }
});

Deno.test("Sha256 refuses updates after the digest and keeps returning the same digest", () => {
  const hash = new Sha256().update(text("abc"));
  const first = hash.hex();
  assert.equal(hash.hex(), first);
  assert.throws(() => hash.update(text("d")), /after digest/);
});

Deno.test("sha256OfBlob() reads a Blob in slices and equals WebCrypto", async () => {
  const bytes = randomBytes(1024 * 1024 + 3);
  const blob = new Blob([bytes as BlobPart]);
  assert.equal(await sha256OfBlob(blob, { sliceBytes: 100_000 }), await webCryptoHex(bytes));
  assert.equal(
    await sha256OfBlob(new Blob([])),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("_sha256_rounds.ts is exactly what its generator prints (nobody edited it by hand)", async () => {
  const { generateRounds } = await import("./_generate_sha256_rounds.ts");
  const onDisk = await Deno.readTextFile(new URL("./_sha256_rounds.ts", import.meta.url));
  assert.equal(onDisk, generateRounds());
});

Deno.test("Sha256.clone() gives the prefix's digest and leaves the original hashing on", () => {
  const bytes = new TextEncoder().encode("abc".repeat(50));
  const running = new Sha256().update(bytes.subarray(0, 70));
  const prefix = running.clone();
  running.update(bytes.subarray(70));
  assert.equal(prefix.hex(), new Sha256().update(bytes.subarray(0, 70)).hex());
  assert.equal(running.hex(), new Sha256().update(bytes).hex());
});
