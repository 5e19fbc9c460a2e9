/**
 * Request bodies against the real server: a body past its endpoint's limit is
 * cut off while it streams in (413, flat memory), whatever the endpoint; a body
 * that stalls gets 408.
 */
import assert from "node:assert/strict";
import { rssKiB } from "../bench/_common.ts";
import { request, startServer, TEST_API_KEY } from "./harness.ts";

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };
const MiB = 1024 * 1024;

/** A body of `totalBytes` made chunk by chunk as it is sent (never all in memory). */
function lazyBody(totalBytes: number): { stream: ReadableStream<Uint8Array>; sent(): number } {
  const chunkBytes = 256 * 1024;
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= totalBytes) return controller.close();
      const chunk = new Uint8Array(Math.min(chunkBytes, totalBytes - sent)).fill(0x61);
      if (sent === 0) chunk[0] = 0x22; // a JSON string that never ends
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { stream, sent: () => sent };
}

/** POSTs `body` chunked (fetch sends a stream without Content-Length). */
function postChunked(
  url: string,
  body: ReadableStream<Uint8Array>,
): Promise<{ status: number; body: { error?: { code: string } } }> {
  return request(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  });
}

Deno.test({
  name: "a huge chunked body is cut off with 413 body_too_large while it streams, in flat memory",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const guest = () =>
      request(`${server.url}/api/auth/guest`, { method: "POST", json: { name: "Ada" } });
    assert.equal((await guest()).status, 201);
    const before = rssKiB(server.pid);

    const huge = lazyBody(200 * MiB);
    const cut = await postChunked(`${server.url}/api/auth/guest`, huge.stream);
    assert.equal(cut.status, 413);
    assert.equal(cut.body.error?.code, "body_too_large");
    const grownMiB = (rssKiB(server.pid) - before) / 1024;
    assert.ok(grownMiB < 30, `the server grew by ${grownMiB.toFixed(1)} MiB`);
    assert.ok(huge.sent() < 100 * MiB, `sent ${huge.sent()} bytes before the 413`);

    // Past what one string can hold: still a 413, not a 500.
    const join = await postChunked(`${server.url}/api/transfer/join`, lazyBody(600 * MiB).stream);
    assert.equal(join.status, 413);
    assert.equal(join.body.error?.code, "body_too_large");

    assert.equal((await guest()).status, 201, "a normal request still works");
  },
});

Deno.test({
  name: "each endpoint's own body limit holds: publish takes its larger body, uploads stream on",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    // 80 KiB (over the default 64 KiB) fits the publish limit, which makes room for
    // NOTIFY_MAX_RECIPIENTS user ids; JSON whitespace pads it here.
    const body = JSON.stringify({ userId: "ada", type: "success", data: { message: "hi" } });
    const publish = await request(`${server.url}/api/notifications/publish`, {
      method: "POST",
      bearer: TEST_API_KEY,
      headers: { "Content-Type": "application/json" },
      body: body.replace("{", `{${" ".repeat(80 * 1024)}`),
    });
    assert.equal(publish.status, 202, JSON.stringify(publish.body));

    // An upload of 1 MiB (over the default limit) streams to its own limit.
    const upload = await request(`${server.url}/api/upload`, {
      method: "POST",
      headers: { "X-Filename": "one.bin" },
      body: lazyBody(MiB).stream,
    });
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    assert.equal(upload.body.size, MiB);
  },
});
/**
 * Sends `head` and `firstBytes` of a body over a plain socket, then stalls and
 * returns the server's answer once it is complete (status line to the end of its
 * `Content-Length` body). Deno keeps the socket open after it (see
 * docs/deployment.md), so the answer, not a close, is the event to wait for.
 */
async function stallAfter(url: string, head: string, firstBytes: string): Promise<string> {
  const target = new URL(url);
  const conn = await Deno.connect({ hostname: target.hostname, port: Number(target.port) });
  await conn.write(
    new TextEncoder().encode(`${head}\r\nHost: ${target.host}\r\n\r\n${firstBytes}`),
  );
  // A guard against a server that never answers, not a wait: the answer ends the read.
  const guard = setTimeout(() => conn.close(), 10_000);
  let answer = "";
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(4096);
  const complete = () => {
    const split = answer.indexOf("\r\n\r\n");
    const length = /^content-length:\s*(\d+)/im.exec(answer.slice(0, split))?.[1];
    return split !== -1 && length !== undefined && answer.length >= split + 4 + Number(length);
  };
  try {
    while (!complete()) {
      const read = await conn.read(buffer);
      if (read === null) break;
      answer += decoder.decode(buffer.subarray(0, read));
    }
  } catch {
    /* closed by the guard */
  } finally {
    clearTimeout(guard);
    try {
      conn.close();
    } catch { /* closed already */ }
  }
  return answer;
}

Deno.test({
  name: "a body that stalls after its first byte gets 408 body_timeout after BODY_TIMEOUT_SECONDS",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer({ env: { BODY_TIMEOUT_SECONDS: "1" } });
    const json = "Content-Type: application/json";
    const withLength = await stallAfter(
      `${server.url}/api/auth/guest`,
      `POST /api/auth/guest HTTP/1.1\r\n${json}\r\nContent-Length: 100`,
      "{",
    );
    assert.match(withLength, /^HTTP\/1\.1 408 /);
    assert.match(withLength, /"code":"body_timeout"/);

    const chunked = await stallAfter(
      `${server.url}/api/transfer/join`,
      `POST /api/transfer/join HTTP/1.1\r\n${json}\r\nTransfer-Encoding: chunked`,
      "1\r\n{\r\n",
    );
    assert.match(chunked, /^HTTP\/1\.1 408 /);

    const upload = await stallAfter(
      `${server.url}/api/upload`,
      "POST /api/upload HTTP/1.1\r\nX-Filename: slow.bin\r\nContent-Length: 100000",
      "x",
    );
    assert.match(upload, /^HTTP\/1\.1 408 /);
    assert.match(upload, /"code":"body_timeout"/);
  },
});
