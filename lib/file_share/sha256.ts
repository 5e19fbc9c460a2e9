/**
 * Incremental SHA-256 (FIPS 180-4) in plain TypeScript. WebCrypto only hashes a
 * whole buffer at once, so a file that arrives in chunks would have to be held
 * in memory to be hashed there; this hashes chunk by chunk with 64 bytes of
 * state. Runs in browsers and in Deno. The compression function itself is
 * generated with its rounds unrolled (`_sha256_rounds.ts`), for speed.
 */
import { compressBlocks } from "./_sha256_rounds.ts";

const INITIAL = [
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
];

/**
 * A running SHA-256: feed it bytes with {@linkcode Sha256.update} as they come,
 * then read the digest once.
 *
 * @example
 * ```ts
 * const hash = new Sha256();
 * hash.update(new TextEncoder().encode("a"));
 * hash.update(new TextEncoder().encode("bc"));
 * hash.hex(); // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 * ```
 */
export class Sha256 {
  #state = new Int32Array(INITIAL);
  #block = new Uint8Array(64);
  #blockLength = 0;
  #bytes = 0;
  #finished: Uint8Array | null = null;

  /** Bytes hashed so far. */
  get length(): number {
    return this.#bytes;
  }

  /** Adds bytes. Throws once the digest was read. */
  update(data: Uint8Array): this {
    if (this.#finished) throw new Error("Sha256: update() after digest()");
    this.#bytes += data.byteLength;
    let offset = 0;
    if (this.#blockLength > 0) {
      const take = Math.min(64 - this.#blockLength, data.byteLength);
      this.#block.set(data.subarray(0, take), this.#blockLength);
      this.#blockLength += take;
      offset = take;
      if (this.#blockLength < 64) return this;
      compressBlocks(this.#state, this.#block, 0);
      this.#blockLength = 0;
    }
    offset = compressBlocks(this.#state, data, offset);
    if (offset < data.byteLength) {
      this.#block.set(data.subarray(offset), 0);
      this.#blockLength = data.byteLength - offset;
    }
    return this;
  }

  /**
   * An independent copy of this running hash: reading the copy's digest leaves
   * this one open for more bytes (the receiver proves the prefix it holds
   * before a transfer resumes, then hashes on).
   */
  clone(): Sha256 {
    const copy = new Sha256();
    copy.#state.set(this.#state);
    copy.#block.set(this.#block);
    copy.#blockLength = this.#blockLength;
    copy.#bytes = this.#bytes;
    copy.#finished = this.#finished;
    return copy;
  }

  /** The 32-byte digest (the same array on every call). */
  digest(): Uint8Array {
    if (this.#finished) return this.#finished;
    const bits = this.#bytes * 8;
    const block = this.#block;
    block[this.#blockLength++] = 0x80;
    if (this.#blockLength > 56) {
      block.fill(0, this.#blockLength);
      compressBlocks(this.#state, block, 0);
      this.#blockLength = 0;
    }
    block.fill(0, this.#blockLength);
    const view = new DataView(block.buffer);
    view.setUint32(56, Math.floor(bits / 0x1_0000_0000));
    view.setUint32(60, bits >>> 0);
    compressBlocks(this.#state, block, 0);
    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) outView.setInt32(i * 4, this.#state[i]!);
    this.#finished = out;
    return out;
  }

  /** The digest as 64 lower-case hex digits. */
  hex(): string {
    return toHex(this.digest());
  }
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}

/**
 * SHA-256 (hex) of a Blob or File, read in slices so that memory stays flat
 * whatever the size.
 *
 * @example
 * ```ts
 * await sha256OfBlob(new Blob(["abc"])); // "ba7816bf…"
 * ```
 */
export async function sha256OfBlob(
  blob: Blob,
  options: { sliceBytes?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const sliceBytes = options.sliceBytes ?? 4 * 1024 * 1024;
  const hash = new Sha256();
  for (let offset = 0; offset < blob.size; offset += sliceBytes) {
    options.signal?.throwIfAborted();
    hash.update(new Uint8Array(await blob.slice(offset, offset + sliceBytes).arrayBuffer()));
  }
  return hash.hex();
}
