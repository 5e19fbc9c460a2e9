/**
 * Incremental SHA-256 (FIPS 180-4) in plain TypeScript. WebCrypto only hashes a
 * whole buffer at once, so a file that arrives in chunks would have to be held
 * in memory to be hashed there; this hashes chunk by chunk with 64 bytes of
 * state. Runs in browsers and in Deno.
 */

const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

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
  #words = new Int32Array(64);
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
      compressBlocks(this.#state, this.#words, this.#block, 0);
      this.#blockLength = 0;
    }
    offset = compressBlocks(this.#state, this.#words, data, offset);
    if (offset < data.byteLength) {
      this.#block.set(data.subarray(offset), 0);
      this.#blockLength = data.byteLength - offset;
    }
    return this;
  }

  /** The 32-byte digest (the same array on every call). */
  digest(): Uint8Array {
    if (this.#finished) return this.#finished;
    const bits = this.#bytes * 8;
    const block = this.#block;
    block[this.#blockLength++] = 0x80;
    if (this.#blockLength > 56) {
      block.fill(0, this.#blockLength);
      compressBlocks(this.#state, this.#words, block, 0);
      this.#blockLength = 0;
    }
    block.fill(0, this.#blockLength);
    const view = new DataView(block.buffer);
    view.setUint32(56, Math.floor(bits / 0x1_0000_0000));
    view.setUint32(60, bits >>> 0);
    compressBlocks(this.#state, this.#words, block, 0);
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

/**
 * Every whole 64-byte block of `data` from `offset` into the state; returns the
 * offset after the last one. One call per update keeps the eight working
 * variables in registers across blocks (the fast path for large chunks).
 */
function compressBlocks(s: Int32Array, w: Int32Array, data: Uint8Array, offset: number): number {
  let h0 = s[0]!, h1 = s[1]!, h2 = s[2]!, h3 = s[3]!;
  let h4 = s[4]!, h5 = s[5]!, h6 = s[6]!, h7 = s[7]!;
  const end = data.length - 64;
  let p = offset;
  while (p <= end) {
    for (let i = 0; i < 16; i++, p += 4) {
      w[i] = (data[p]! << 24) | (data[p + 1]! << 16) | (data[p + 2]! << 8) | data[p + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!;
      const y = w[i - 2]!;
      w[i] = ((((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) + w[i - 16]! +
        (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)) + w[i - 7]!) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const t1 = (h +
        (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
      const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^
        ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  s[0] = h0;
  s[1] = h1;
  s[2] = h2;
  s[3] = h3;
  s[4] = h4;
  s[5] = h5;
  s[6] = h6;
  s[7] = h7;
  return p;
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
