import { BodyAbortedError, BodyTimeoutError, BodyTooLargeError } from "./errors.ts";

/** Options of {@linkcode guardBody}. */
export interface GuardBodyOptions {
  /** Past this many bytes the stream fails with {@linkcode BodyTooLargeError}. */
  maxBytes: number;
  /**
   * The whole body must have arrived this many ms after `guardBody()` was called,
   * or the stream fails with {@linkcode BodyTimeoutError}. Default: no deadline.
   */
  timeoutMs?: number;
}

/**
 * Wraps a request body so that reading it fails as soon as it passes `maxBytes`
 * (413) or its deadline (408), and the source is cancelled then: nothing past
 * the limit is read, so memory stays flat whatever the client sends. A source
 * that fails (the client went away mid-body) fails with {@linkcode BodyAbortedError}
 * (400). Reading happens only when the consumer pulls, so a body nobody reads costs nothing.
 *
 * @example
 * ```ts
 * const request = new Request("http://localhost/", { method: "POST", body: "hello" });
 * const guarded = guardBody(request.body!, { maxBytes: 64 * 1024, timeoutMs: 30_000 });
 * await new Response(guarded).text(); // "hello"; past 64 KiB it throws BodyTooLargeError
 * ```
 */
export function guardBody(
  body: ReadableStream<Uint8Array>,
  options: GuardBodyOptions,
): ReadableStream<Uint8Array> {
  const { maxBytes, timeoutMs } = options;
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  const reader = body.getReader();
  let received = 0;
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: unknown) => {
    controller.error(error);
    reader.cancel(error).catch(() => {});
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const read = deadline === Infinity ? reader.read() : Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new BodyTimeoutError(timeoutMs!)),
            Math.max(0, deadline - Date.now()),
          );
        }),
      ]);
      try {
        const { value, done } = await read;
        if (done) return controller.close();
        received += value.byteLength;
        if (received > maxBytes) return fail(controller, new BodyTooLargeError(maxBytes));
        controller.enqueue(value);
      } catch (error) {
        fail(
          controller,
          error instanceof BodyTimeoutError ? error : new BodyAbortedError({ cause: error }),
        );
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
