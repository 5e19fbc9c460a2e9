import { BodyTimeoutError } from "../body/mod.ts";

/**
 * Reads a byte stream into memory the caller owns. With a byte stream (a request
 * body) this is a BYOB read: the bytes land in the caller's buffer and no
 * per-piece buffers are left for the garbage collector, which keeps a server's
 * memory flat under large uploads. Other streams are read and copied.
 */
export class ByteReader {
  #byob: ReadableStreamBYOBReader | null = null;
  #default: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #leftover: Uint8Array | null = null;
  #idleTimeoutMs: number | undefined;

  /**
   * `byob: false` forces the copying reader. Deno 2.9 answers BYOB reads of a
   * *chunked* request body one transfer frame at a time and slowly (and its memory
   * grows), so callers pass false when a body has no Content-Length.
   * `idleTimeoutMs`: a read that gets no bytes for this long fails with
   * {@linkcode BodyTimeoutError} and the stream is cancelled (a client that stalls
   * mid-upload). Default: wait as long as it takes.
   */
  constructor(
    stream: ReadableStream<Uint8Array>,
    options: { byob?: boolean; idleTimeoutMs?: number | undefined } = {},
  ) {
    this.#idleTimeoutMs = options.idleTimeoutMs;
    if (options.byob ?? true) {
      try {
        this.#byob = stream.getReader({ mode: "byob" });
        return;
      } catch { /* not a byte stream */ }
    }
    this.#default = stream.getReader();
  }

  /**
   * Reads at most `view.byteLength` (> 0) bytes into `view`. `value` is the filled
   * part (empty at the end of the stream, when `done` is true). A BYOB read
   * transfers the memory, also the last one: `value.buffer` replaces
   * `view.buffer`, which is detached.
   */
  async readInto(
    view: Uint8Array<ArrayBuffer>,
  ): Promise<{ value: Uint8Array<ArrayBuffer>; done: boolean }> {
    if (this.#byob) {
      const { value, done } = await this.#within(this.#byob.read(view));
      // A cancelled stream answers without a view; the memory is then gone too.
      return { value: value ?? new Uint8Array(view.byteLength).subarray(0, 0), done };
    }
    let piece = this.#leftover;
    this.#leftover = null;
    while (!piece || piece.byteLength === 0) {
      const { value, done } = await this.#within(this.#default!.read());
      if (done) return { value: view.subarray(0, 0), done: true };
      piece = value;
    }
    const count = Math.min(piece.byteLength, view.byteLength);
    view.set(piece.subarray(0, count));
    if (count < piece.byteLength) this.#leftover = piece.subarray(count);
    return { value: view.subarray(0, count), done: false };
  }

  /** `read`, or {@linkcode BodyTimeoutError} (and the stream cancelled) when it takes too long. */
  async #within<T>(read: Promise<T>): Promise<T> {
    const timeoutMs = this.#idleTimeoutMs;
    if (timeoutMs === undefined) return await read;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BodyTimeoutError(timeoutMs)), timeoutMs);
    });
    try {
      return await Promise.race([read, stalled]);
    } catch (error) {
      if (error instanceof BodyTimeoutError) await this.cancel();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops reading; the stream is cancelled. */
  async cancel(): Promise<void> {
    await (this.#byob ?? this.#default)?.cancel().catch(() => {});
  }
}
