import assert from "node:assert/strict";
import { BodyAbortedError, BodyTimeoutError, BodyTooLargeError, guardBody } from "./mod.ts";

/** An endless body of 1 KiB chunks that counts what was pulled from it and sees its cancel. */
function endless(): {
  stream: ReadableStream<Uint8Array>;
  pulled(): number;
  cancelled: Promise<void>;
} {
  let pulled = 0;
  let cancel!: () => void;
  const cancelled = new Promise<void>((resolve) => cancel = resolve);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += 1024;
      controller.enqueue(new Uint8Array(1024));
    },
    cancel,
  }, { highWaterMark: 0 });
  return { stream, pulled: () => pulled, cancelled };
}

Deno.test("guardBody() fails with 413 as soon as the body passes maxBytes and cancels the source", async () => {
  const source = endless();
  const guarded = guardBody(source.stream, { maxBytes: 10_000 });
  await assert.rejects(new Response(guarded).arrayBuffer(), BodyTooLargeError);
  await source.cancelled;
  assert.ok(source.pulled() <= 11 * 1024, `pulled ${source.pulled()} bytes`);
});

Deno.test("guardBody() passes a body within its limit through unchanged", async () => {
  const guarded = guardBody(new Blob(["x".repeat(10_000)]).stream(), { maxBytes: 10_000 });
  assert.equal((await new Response(guarded).text()).length, 10_000);
});

Deno.test("guardBody() fails with 408 when the body stalls past its deadline", async () => {
  let cancel!: () => void;
  const cancelled = new Promise<void>((resolve) => cancel = resolve);
  let first = true;
  const stalled = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (first) controller.enqueue(new Uint8Array([123]));
      first = false;
      return new Promise(() => {}); // never another byte
    },
    cancel,
  });
  const guarded = guardBody(stalled, { maxBytes: 100, timeoutMs: 50 });
  const error = await new Response(guarded).text().catch((error) => error);
  assert.ok(error instanceof BodyTimeoutError);
  assert.equal(error.status, 408);
  assert.equal(error.code, "body_timeout");
  await cancelled;
});

Deno.test("guardBody() turns a source that fails mid-body into 400 body_aborted", async () => {
  const broken = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error("connection reset"));
    },
  });
  const error = await new Response(guardBody(broken, { maxBytes: 100 })).text().catch((e) => e);
  assert.ok(error instanceof BodyAbortedError);
  assert.equal(error.status, 400);
  assert.equal(error.code, "body_aborted");
});
