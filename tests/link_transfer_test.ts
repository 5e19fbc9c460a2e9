import assert from "node:assert/strict";
import { startServer } from "./harness.ts";
import { hashBody, multipartEnvelope, postWithLength, randomBody } from "./link_fixtures.ts";

const MiB = 1024 * 1024;
const SIZE = 100 * MiB;
// Windows that cross chunk borders (60 KiB) and the very end of the file.
const WINDOWS: Array<[number, number]> = [[0, 1000], [61_000, 5_000], [50 * MiB + 123, 200_000], [
  SIZE - 777,
  777,
]];

Deno.test({
  name: "a 100 MiB random file uploads and downloads byte-identical, raw and multipart, with Range",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startServer({ env: { UPLOADS_PER_HOUR: "1000" } });

    // Raw body with a Content-Length (as browsers and curl send it), streamed as it is
    // generated: the server must stream it into KV with flat memory (its anonymous
    // RSS is sampled while the upload runs).
    const anonKiB = () =>
      Number(/RssAnon:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${server.pid}/status`))![1]);
    const before = anonKiB();
    let peak = before;
    const sampler = setInterval(() => peak = Math.max(peak, anonKiB()), 5);
    const raw = randomBody(SIZE, { windows: WINDOWS });
    const rawResponse = await postWithLength(`${server.url}/api/upload`, {
      headers: { "X-Filename": "big.bin", "Content-Type": "application/octet-stream" },
      body: raw.stream,
      length: SIZE,
    });
    const rawUpload = rawResponse.json;
    clearInterval(sampler);
    const growthMiB = (peak - before) / 1024;
    assert.ok(
      growthMiB < 32,
      `server memory grew by ${growthMiB.toFixed(1)} MiB during the upload`,
    );
    assert.equal(rawResponse.status, 201, JSON.stringify(rawUpload));
    assert.equal(rawUpload.size, SIZE);
    assert.equal(rawUpload.sha256, raw.sha256());
    assert.match(rawUpload.url, new RegExp(`/d/${rawUpload.id}$`));
    assert.match(rawUpload.deleteToken, /^dt_/);
    assert.ok(Date.parse(rawUpload.expiresAt) > Date.now());

    const download = await fetch(`${server.url}/api/download/${rawUpload.id}`);
    assert.equal(download.status, 200);
    assert.equal(download.headers.get("content-length"), String(SIZE));
    assert.equal(download.headers.get("accept-ranges"), "bytes");
    const downloaded = await hashBody(download.body);
    assert.equal(downloaded.size, SIZE);
    assert.equal(downloaded.sha256, raw.sha256());

    for (const [start, length] of WINDOWS) {
      const end = start + length - 1;
      const partial = await fetch(`${server.url}/api/download/${rawUpload.id}`, {
        headers: { Range: `bytes=${start}-${end}` },
      });
      assert.equal(partial.status, 206);
      assert.equal(partial.headers.get("content-range"), `bytes ${start}-${end}/${SIZE}`);
      assert.equal(partial.headers.get("content-length"), String(length));
      assert.deepEqual(new Uint8Array(await partial.arrayBuffer()), raw.window(start));
    }
    const suffix = await fetch(`${server.url}/api/download/${rawUpload.id}`, {
      headers: { Range: "bytes=-777" },
    });
    assert.equal(suffix.status, 206);
    assert.deepEqual(new Uint8Array(await suffix.arrayBuffer()), raw.window(SIZE - 777));

    // Multipart, streamed chunked (fetch sends no length): a field first, then the file part.
    const envelope = multipartEnvelope("big multipart.bin");
    const multipart = randomBody(SIZE, { prefix: envelope.prefix, suffix: envelope.suffix });
    const multipartResponse = await fetch(`${server.url}/api/upload`, {
      method: "POST",
      headers: { "Content-Type": `multipart/form-data; boundary=${envelope.boundary}` },
      body: multipart.stream,
    });
    const multipartUpload = await multipartResponse.json();
    assert.equal(multipartResponse.status, 201, JSON.stringify(multipartUpload));
    assert.equal(multipartUpload.size, SIZE);
    assert.equal(multipartUpload.name, "big multipart.bin");
    assert.equal(multipartUpload.sha256, multipart.sha256());
    const second = await fetch(`${server.url}/api/download/${multipartUpload.id}`);
    const secondHash = await hashBody(second.body);
    assert.equal(secondHash.size, SIZE);
    assert.equal(secondHash.sha256, multipart.sha256());
  },
});
