import assert from "node:assert/strict";
import { request, startServer, TEST_API_KEY, waitFor } from "./harness.ts";
import {
  hashBody,
  multipartEnvelope,
  randomBody,
  sha256Hex,
  storedCounts,
} from "./link_fixtures.ts";

const MiB = 1024 * 1024;
const options = { sanitizeResources: false, sanitizeOps: false };

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
  }
  return bytes;
}

/** Uploads `bytes` raw; returns the parsed 201 body. */
async function upload(
  url: string,
  bytes: Uint8Array,
  init: { name?: string; query?: string; headers?: Record<string, string> } = {},
  // deno-lint-ignore no-explicit-any -- JSON from the server
): Promise<any> {
  const response = await request(`${url}/api/upload${init.query ?? ""}`, {
    method: "POST",
    headers: { "X-Filename": encodeURIComponent(init.name ?? "data.bin"), ...init.headers },
    body: bytes as BodyInit,
  });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body;
}

/** Strict shape of a safe Content-Disposition: printable ASCII, a quoted fallback, filename*. */
const SAFE_DISPOSITION =
  /^attachment; filename="([\x20-\x21\x23-\x24\x26-\x3a\x3c-\x5b\x5d-\x7e]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$/;

Deno.test({
  ...options,
  name:
    "an upload past MAX_UPLOAD_BYTES is cut off with 413 file_too_large and nothing stays stored",
  async fn() {
    await using server = await startServer({
      env: { MAX_UPLOAD_BYTES: String(MiB), UPLOADS_PER_HOUR: "1000" },
    });
    // Streamed without a length: the server must stop reading early, not read 64 MiB.
    const streamed = randomBody(64 * MiB);
    const cut = await request(`${server.url}/api/upload`, {
      method: "POST",
      headers: { "X-Filename": "big.bin" },
      body: streamed.stream,
    });
    assert.equal(cut.status, 413);
    assert.equal(cut.body.error.code, "file_too_large");
    assert.ok(streamed.pulled() < 32 * MiB, `pulled ${streamed.pulled()} bytes before the 413`);
    assert.deepEqual(await storedCounts(server.kvPath), { file: 0, chunk: 0, upload: 0 });

    // A declared Content-Length over the cap is refused before the body is read.
    const declared = await request(`${server.url}/api/upload`, {
      method: "POST",
      headers: { "X-Filename": "big.bin" },
      body: randomBytes(2 * MiB) as BodyInit,
    });
    assert.equal(declared.status, 413);
    assert.equal(declared.body.error.code, "file_too_large");

    // Multipart, streamed.
    const envelope = multipartEnvelope("big.bin");
    const multipart = randomBody(8 * MiB, { prefix: envelope.prefix, suffix: envelope.suffix });
    const multipartCut = await request(`${server.url}/api/upload`, {
      method: "POST",
      headers: { "Content-Type": `multipart/form-data; boundary=${envelope.boundary}` },
      body: multipart.stream,
    });
    assert.equal(multipartCut.status, 413);
    assert.equal(multipartCut.body.error.code, "file_too_large");

    // Exactly at the cap is fine: 1 MiB is 18 chunks of 60 KiB.
    const atLimit = await upload(server.url, randomBytes(MiB));
    assert.equal(atLimit.size, MiB);
    await server.stop();
    assert.deepEqual(await storedCounts(server.kvPath), { file: 1, chunk: 18, upload: 0 });
  },
});

Deno.test({
  ...options,
  name: "an upload the client aborts half-way never becomes visible and its chunks are removed",
  async fn() {
    await using server = await startServer({ env: { UPLOADS_PER_HOUR: "1000" } });
    const controller = new AbortController();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(stream) {
        // A slow client is the scenario: the body trickles in until the abort.
        await new Promise((resolve) => setTimeout(resolve, 2));
        sent += 64 * 1024;
        stream.enqueue(randomBytes(64 * 1024));
      },
    });
    const uploading = fetch(`${server.url}/api/upload`, {
      method: "POST",
      headers: { "X-Filename": "never.bin" },
      body,
      signal: controller.signal,
    }).catch((error) => error);
    // Wait until the server has really written chunks of this upload, then abort.
    const during = await waitFor(async () => {
      const counts = await storedCounts(server.kvPath);
      return counts.chunk >= 10 ? counts : null;
    }, { timeoutMs: 30_000, message: "chunks written" });
    assert.equal(during.file, 0, "not visible while uploading");
    assert.equal(during.upload, 1);
    controller.abort();
    assert.equal((await uploading).name, "AbortError");
    await waitFor(async () => {
      const counts = await storedCounts(server.kvPath);
      return counts.chunk === 0 && counts.upload === 0 && counts.file === 0;
    }, { timeoutMs: 10_000, message: "chunks removed after the abort" });
    assert.ok(sent > 10 * 60 * 1024);
  },
});

Deno.test({
  ...options,
  name: "maxDownloads=1 lets exactly one of 20 concurrent downloads through, across isolates",
  async fn() {
    await using server = await startServer({ isolates: 2, env: { UPLOADS_PER_HOUR: "1000" } });
    const bytes = randomBytes(MiB + 12345);
    const stored = await upload(server.url, bytes, { query: "?maxDownloads=1" });
    assert.equal(stored.downloadsLeft, 1);
    // HEAD and the metadata endpoint do not count.
    for (let index = 0; index < 2; index++) {
      const head = await fetch(`${server.url}/api/download/${stored.id}`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), String(bytes.length));
    }
    assert.equal((await request(`${server.url}/api/files/${stored.id}`)).body.downloadsLeft, 1);

    const results = await Promise.all(Array.from({ length: 20 }, async () => {
      // A client per request: new connections spread over the isolates. The API key skips
      // the per-address request limit, whose KV counter would otherwise space the requests out.
      const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
      try {
        const response = await fetch(`${server.url}/api/download/${stored.id}`, {
          client,
          headers: { Authorization: `Bearer ${TEST_API_KEY}` },
        });
        if (response.status === 200) return { status: 200, ...await hashBody(response.body) };
        return { status: response.status, code: (await response.json()).error.code };
      } finally {
        client.close();
      }
    }));
    const winners = results.filter((result) => result.status === 200);
    assert.equal(winners.length, 1, JSON.stringify(results.map((result) => result.status)));
    assert.equal((winners[0] as { sha256: string }).sha256, sha256Hex(bytes));
    for (const result of results.filter((result) => result.status !== 200)) {
      assert.deepEqual(result, { status: 410, code: "expired" });
    }
    const after = await request(`${server.url}/api/download/${stored.id}`);
    assert.equal(after.status, 410);
    assert.match(after.body.error.message, /download limit/);
  },
});

Deno.test({
  ...options,
  name: "uploads are rate limited per address with 429 rate_limited and Retry-After",
  async fn() {
    await using server = await startServer({ env: { UPLOADS_PER_HOUR: "2" } });
    await upload(server.url, randomBytes(10));
    await upload(server.url, randomBytes(10));
    const third = await request(`${server.url}/api/upload`, {
      method: "POST",
      headers: { "X-Filename": "third.bin" },
      body: "x",
    });
    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, "rate_limited");
    assert.ok(Number(third.headers.get("retry-after")) > 0);
  },
});

Deno.test({
  ...options,
  name: "link mode over HTTP",
  async fn(t) {
    await using server = await startServer({ env: { UPLOADS_PER_HOUR: "1000" } });
    const url = server.url;

    await t.step("an unknown id is 404 not_found, a malformed one too", async () => {
      for (const id of ["AAAAAAAAAAAAAAAAAAAAAA", "nope", "..%2F..%2Fetc"]) {
        const response = await request(`${url}/api/download/${id}`);
        assert.equal(response.status, 404);
        assert.equal(response.body.error.code, "not_found");
        assert.equal((await request(`${url}/api/files/${id}`)).status, 404);
      }
    });

    await t.step("an expired file is 410 expired for downloads, HEAD and metadata", async () => {
      const stored = await upload(url, randomBytes(1000), { query: "?ttlSeconds=1" });
      assert.equal((await request(`${url}/api/files/${stored.id}`)).status, 200);
      // The server's own clock decides the expiry: wait for the time it gave, not a guess.
      await waitFor(() => Date.now() > Date.parse(stored.expiresAt), { message: "expiry passed" });
      const response = await request(`${url}/api/download/${stored.id}`);
      assert.equal(response.status, 410);
      assert.equal(response.body.error.code, "expired");
      const head = await fetch(`${url}/api/download/${stored.id}`, { method: "HEAD" });
      assert.equal(head.status, 410);
      await head.body?.cancel();
      assert.equal((await request(`${url}/api/files/${stored.id}`)).status, 410);
    });

    await t.step(
      "DELETE needs the right delete token: 401 without, 403 wrong, 200 right",
      async () => {
        const stored = await upload(url, randomBytes(200_000));
        const target = `${url}/api/download/${stored.id}`;
        const missing = await request(target, { method: "DELETE" });
        assert.equal(missing.status, 401);
        assert.equal(missing.body.error.code, "delete_token_required");
        const wrong = await request(target, {
          method: "DELETE",
          headers: { "X-Delete-Token": "dt_wrong" },
        });
        assert.equal(wrong.status, 403);
        assert.equal(wrong.body.error.code, "wrong_delete_token");
        assert.equal((await request(target)).status, 200, "a wrong token changes nothing");
        const right = await request(target, {
          method: "DELETE",
          headers: { "X-Delete-Token": stored.deleteToken },
        });
        assert.equal(right.status, 200);
        assert.deepEqual(right.body, { id: stored.id, deleted: true });
        const gone = await request(target);
        assert.equal(gone.status, 410);
        assert.match(gone.body.error.message, /deleted/);
        const bearer = await upload(url, randomBytes(10));
        const viaBearer = await request(`${url}/api/download/${bearer.id}`, {
          method: "DELETE",
          bearer: bearer.deleteToken,
        });
        assert.equal(viaBearer.status, 200);
      },
    );

    await t.step(
      "hostile file names are stored cleaned and served with a safe header",
      async () => {
        const hostile = [
          "../../etc/passwd",
          'a"\r\nSet-Cookie: x',
          "📦 résumé 🚀.pdf",
          `${"ab".repeat(148)}.txt`,
          "😀".repeat(300),
          "..\\..\\windows\\win.ini",
        ];
        for (const name of hostile) {
          const form = new FormData();
          form.append("file", new File(["hello"], name));
          const viaMultipart = await request(`${url}/api/upload`, { method: "POST", body: form });
          assert.equal(viaMultipart.status, 201, JSON.stringify(viaMultipart.body));
          const viaHeader = await upload(url, new TextEncoder().encode("hello"), { name });
          assert.equal(viaHeader.name, viaMultipart.body.name, `same name both ways for ${name}`);
          for (const stored of [viaHeader, viaMultipart.body]) {
            assert.doesNotMatch(stored.name, /[\/\\\u0000-\u001f\u007f]/);
            assert.ok(!stored.name.startsWith("."));
            assert.ok(new TextEncoder().encode(stored.name).byteLength <= 255);
            const response = await fetch(`${url}/api/download/${stored.id}`);
            assert.equal(response.status, 200);
            assert.equal(await response.text(), "hello");
            assert.equal(response.headers.get("set-cookie"), null);
            assert.equal(response.headers.get("x-content-type-options"), "nosniff");
            const disposition = response.headers.get("content-disposition") ?? "";
            const match = SAFE_DISPOSITION.exec(disposition);
            assert.ok(match, `well-formed Content-Disposition: ${disposition}`);
            assert.equal(decodeURIComponent(match[2]!), stored.name);
          }
        }
        const passwd = await upload(url, new Uint8Array(1), { name: "../../etc/passwd" });
        assert.equal(passwd.name, "_.._etc_passwd");
        const cookie = await upload(url, new Uint8Array(1), { name: 'a"\r\nSet-Cookie: x' });
        assert.equal(cookie.name, 'a" Set-Cookie: x');
      },
    );

    await t.step("a name with nothing usable is 400 invalid_filename", async () => {
      for (const name of ["..", " ", "/"]) {
        const response = await request(`${url}/api/upload`, {
          method: "POST",
          headers: { "X-Filename": encodeURIComponent(name) },
          body: "x",
        });
        if (name === "/") {
          assert.equal(response.status, 201, "a lone slash becomes an underscore");
          continue;
        }
        assert.equal(response.status, 400, name);
        assert.equal(response.body.error.code, "invalid_filename");
      }
    });

    await t.step("bad query values are 400 invalid_request", async () => {
      for (
        const query of ["?ttlSeconds=90000", "?ttlSeconds=0", "?maxDownloads=0", "?ttlSeconds=x"]
      ) {
        const response = await request(`${url}/api/upload${query}`, {
          method: "POST",
          headers: { "X-Filename": "x.bin" },
          body: "x",
        });
        assert.equal(response.status, 400, query);
        assert.equal(response.body.error.code, "invalid_request");
      }
    });

    await t.step(
      "Range gives 206 for one range, 416 with Content-Range when unsatisfiable",
      async () => {
        const bytes = randomBytes(150_000);
        const stored = await upload(url, bytes, { headers: { "Content-Type": "image/png" } });
        const target = `${url}/api/download/${stored.id}`;
        const middle = await fetch(target, { headers: { Range: "bytes=61000-130000" } });
        assert.equal(middle.status, 206);
        assert.equal(middle.headers.get("content-range"), "bytes 61000-130000/150000");
        assert.equal(middle.headers.get("content-type"), "image/png");
        assert.deepEqual(new Uint8Array(await middle.arrayBuffer()), bytes.subarray(61000, 130001));
        const open = await fetch(target, { headers: { Range: "bytes=149990-" } });
        assert.deepEqual(new Uint8Array(await open.arrayBuffer()), bytes.subarray(149990));
        const outside = await request(target, { headers: { Range: "bytes=150000-" } });
        assert.equal(outside.status, 416);
        assert.equal(outside.headers.get("content-range"), "bytes */150000");
        assert.equal(outside.body.error.code, "range_not_satisfiable");
        const several = await fetch(target, { headers: { Range: "bytes=0-1,5-6" } });
        assert.equal(several.status, 200, "several ranges are served as the whole file");
        await several.body?.cancel();
        const stale = await fetch(target, { headers: { Range: "bytes=0-9", "If-Range": '"old"' } });
        assert.equal(stale.status, 200, "If-Range with another ETag gets the whole file");
        assert.equal((await stale.arrayBuffer()).byteLength, 150_000);
        const current = await fetch(target, {
          headers: { Range: "bytes=0-9", "If-Range": `"${stored.sha256}"` },
        });
        assert.equal(current.status, 206);
        await current.body?.cancel();
      },
    );

    await t.step("HEAD answers the download's headers without a body", async () => {
      const stored = await upload(url, randomBytes(70_000));
      const head = await fetch(`${url}/api/download/${stored.id}`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), "70000");
      assert.match(head.headers.get("content-disposition") ?? "", /^attachment;/);
      assert.equal((await head.arrayBuffer()).byteLength, 0);
    });

    await t.step("an empty upload is an empty file", async () => {
      const stored = await upload(url, new Uint8Array());
      assert.equal(stored.size, 0);
      const response = await fetch(`${url}/api/download/${stored.id}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-length"), "0");
      assert.equal((await response.arrayBuffer()).byteLength, 0);
    });

    await t.step(
      "a file served with a script-capable type gets application/octet-stream",
      async () => {
        const stored = await upload(url, new TextEncoder().encode("<script>alert(1)</script>"), {
          name: "x.html",
          headers: { "Content-Type": "text/html" },
        });
        const response = await fetch(`${url}/api/download/${stored.id}`);
        assert.equal(response.headers.get("content-type"), "application/octet-stream");
        assert.match(response.headers.get("content-disposition") ?? "", /^attachment;/);
        await response.body?.cancel();
      },
    );

    await t.step("GET /api/files/:id describes a file without secrets", async () => {
      const stored = await upload(url, randomBytes(5000), {
        name: "notes.txt",
        query: "?maxDownloads=3&ttlSeconds=600",
        headers: { "Content-Type": "text/plain" },
      });
      const info = await request(`${url}/api/files/${stored.id}`);
      assert.equal(info.status, 200);
      assert.equal(info.body.name, "notes.txt");
      assert.equal(info.body.size, 5000);
      assert.equal(info.body.type, "text/plain");
      assert.equal(info.body.encrypted, false);
      assert.equal(info.body.downloadsLeft, 3);
      assert.equal(info.body.deleteToken, undefined);
      assert.equal(info.body.deleteTokenHash, undefined);
      const lifetime = Date.parse(info.body.expiresAt) - Date.parse(info.body.createdAt);
      assert.equal(lifetime, 600_000);
    });

    await t.step("metrics count uploads and downloads", async () => {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const uploads = Number(/^switchboard_uploads_total (\d+)/m.exec(metrics)?.[1] ?? 0);
      const downloads = Number(/^switchboard_downloads_total (\d+)/m.exec(metrics)?.[1] ?? 0);
      assert.ok(uploads >= 10, metrics);
      assert.ok(downloads >= 10, metrics);
    });
  },
});
