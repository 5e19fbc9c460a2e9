import assert from "node:assert/strict";
import {
  createDecryptStream,
  decryptMetadata,
  encryptBlob,
  encryptedSize,
  generateKey,
  HEADER_BYTES,
  TAG_BYTES,
} from "./format.ts";
import { DecryptionError } from "./errors.ts";

const RECORD = 1024;

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
  }
  return bytes;
}

/** Feeds `bytes` through the decryptor in pieces of `pieceSize`. */
async function decrypt(
  bytes: Uint8Array,
  key: CryptoKey,
  pieceSize = 333,
): Promise<Uint8Array> {
  let offset = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + pieceSize));
      offset += pieceSize;
    },
  });
  return new Uint8Array(
    await new Response(source.pipeThrough(createDecryptStream(key))).arrayBuffer(),
  );
}

async function seal(plain: Uint8Array, key: CryptoKey, name = "a.bin"): Promise<Uint8Array> {
  const blob = await encryptBlob(new Blob([plain as BlobPart]), key, {
    metadata: { name, type: "application/x-test" },
    recordSize: RECORD,
  });
  return new Uint8Array(await blob.arrayBuffer());
}

Deno.test("encryptBlob() and createDecryptStream() round-trip every size around record borders", async () => {
  const key = await generateKey();
  for (const size of [0, 1, RECORD - 1, RECORD, RECORD + 1, 3 * RECORD, 5000]) {
    const plain = randomBytes(size);
    const sealed = await seal(plain, key);
    const metadataLength = new DataView(sealed.buffer).getUint32(16);
    assert.equal(sealed.length, encryptedSize(size, metadataLength, RECORD), `size ${size}`);
    for (const pieceSize of [1, 100, RECORD + TAG_BYTES, 100_000]) {
      assert.deepEqual(await decrypt(sealed, key, pieceSize), plain, `size ${size}/${pieceSize}`);
    }
  }
});

Deno.test("the ciphertext hides the content and the name", async () => {
  const key = await generateKey();
  const plain = new TextEncoder().encode("secret secret secret ".repeat(100));
  const sealed = await seal(plain, key, "my-tax-return.pdf");
  const text = new TextDecoder("latin1").decode(sealed);
  assert.ok(!text.includes("secret"));
  assert.ok(!text.includes("tax-return"));
});

Deno.test("decryptMetadata() reads name, type and size from the first bytes", async () => {
  const key = await generateKey();
  const sealed = await seal(randomBytes(3000), key, "📦 report.pdf");
  const metadata = await decryptMetadata(sealed.subarray(0, 4096), key);
  assert.deepEqual(metadata, { name: "📦 report.pdf", type: "application/x-test", size: 3000 });
});

Deno.test("a wrong key fails with DecryptionError", async () => {
  const sealed = await seal(randomBytes(2000), await generateKey());
  const other = await generateKey();
  await assert.rejects(decrypt(sealed, other), DecryptionError);
  await assert.rejects(decryptMetadata(sealed, other), DecryptionError);
});

Deno.test("a changed byte anywhere fails with DecryptionError", async () => {
  const key = await generateKey();
  const sealed = await seal(randomBytes(3 * RECORD + 10), key);
  for (const position of [5, HEADER_BYTES + 3, sealed.length - RECORD - 40, sealed.length - 1]) {
    const changed = sealed.slice();
    changed[position]! ^= 1;
    await assert.rejects(decrypt(changed, key), DecryptionError, `byte ${position}`);
  }
});

Deno.test("a file cut at a record border or with swapped records fails with DecryptionError", async () => {
  const key = await generateKey();
  const sealed = await seal(randomBytes(4 * RECORD), key);
  const metadataLength = new DataView(sealed.buffer).getUint32(16);
  const firstRecord = HEADER_BYTES + metadataLength;
  const sealedRecord = RECORD + TAG_BYTES;
  const cut = sealed.slice(0, firstRecord + 2 * sealedRecord);
  await assert.rejects(decrypt(cut, key), DecryptionError);
  const swapped = sealed.slice();
  swapped.set(sealed.subarray(firstRecord, firstRecord + sealedRecord), firstRecord + sealedRecord);
  swapped.set(
    sealed.subarray(firstRecord + sealedRecord, firstRecord + 2 * sealedRecord),
    firstRecord,
  );
  await assert.rejects(decrypt(swapped, key), DecryptionError);
  await assert.rejects(decrypt(sealed.slice(0, 10), key), DecryptionError);
});
