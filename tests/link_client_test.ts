import assert from "node:assert/strict";
import {
  DecryptionError,
  deleteFile,
  downloadFile,
  encryptedSize,
  getFileInfo,
  LinkClientError,
  parseShareUrl,
  uploadFile,
  type UploadProgress,
} from "../lib/link_client/mod.ts";
import { freePort, startServer, waitFor } from "./harness.ts";
import { hashBody, sha256Hex, storedCounts } from "./link_fixtures.ts";

const MiB = 1024 * 1024;
const options = { sanitizeResources: false, sanitizeOps: false };

function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
  }
  return bytes;
}

Deno.test({
  ...options,
  name:
    "uploadFile() encrypts by default, the server holds only ciphertext, downloadFile() decrypts",
  async fn() {
    await using server = await startServer({ env: { UPLOADS_PER_HOUR: "1000" } });
    const bytes = randomBytes(3 * MiB + 4321);
    const file = new File([bytes], "quarterly report 📈.pdf", { type: "application/pdf" });
    const progress: UploadProgress[] = [];
    const link = await uploadFile(file, {
      baseUrl: server.url,
      onProgress: (event) => progress.push(event),
    });
    assert.equal(link.encrypted, true);
    assert.match(link.url, new RegExp(`/d/${link.id}#k=[A-Za-z0-9_-]{43}$`));
    const encrypting = progress.filter((event) => event.phase === "encrypting");
    assert.ok(encrypting.length > 1);
    assert.deepEqual(encrypting.at(-1), {
      phase: "encrypting",
      loaded: bytes.length,
      total: bytes.length,
    });
    assert.ok(
      encrypting.every((event, index) =>
        index === 0 || event.loaded >= encrypting[index - 1]!.loaded
      ),
    );
    assert.deepEqual(progress.at(-1), { phase: "uploading", loaded: link.size, total: link.size });

    // What the server has: an opaque name and bytes that are not the file.
    const info = await (await fetch(`${server.url}/api/files/${link.id}`)).json();
    assert.equal(info.name, "encrypted.bin");
    assert.equal(info.type, "application/octet-stream");
    assert.equal(info.encrypted, true);
    const stored = await fetch(link.downloadUrl);
    assert.equal(stored.headers.get("x-encrypted"), "1");
    const storedHash = await hashBody(stored.body);
    assert.notEqual(storedHash.sha256, sha256Hex(bytes));
    const metadataLength = storedHash.size - encryptedSize(bytes.length, 0);
    assert.ok(metadataLength > 16 && metadataLength <= 4096 - 20, `${metadataLength}`);

    // With the key from the link: the real name before downloading, then the same bytes.
    const { id, key } = parseShareUrl(link.url);
    assert.ok(key);
    const described = await getFileInfo(id, { baseUrl: server.url, key });
    assert.equal(described.name, "quarterly report 📈.pdf");
    assert.equal(described.type, "application/pdf");
    assert.equal(described.size, bytes.length);
    assert.equal(described.decrypted, true);
    let lastProgress = { loaded: 0, total: 0 };
    const copy = await downloadFile(id, {
      baseUrl: server.url,
      key,
      onProgress: (event) => lastProgress = event,
    });
    assert.equal(copy.name, "quarterly report 📈.pdf");
    assert.equal(copy.type, "application/pdf");
    assert.equal(sha256Hex(new Uint8Array(await copy.blob.arrayBuffer())), sha256Hex(bytes));
    assert.deepEqual(lastProgress, { loaded: storedHash.size, total: storedHash.size });

    // A wrong or missing key never yields bytes.
    const otherKey = parseShareUrl(
      (await uploadFile(new Blob(["x"]), { baseUrl: server.url })).url,
    ).key!;
    await assert.rejects(downloadFile(id, { baseUrl: server.url, key: otherKey }), DecryptionError);
    await assert.rejects(getFileInfo(id, { baseUrl: server.url, key: otherKey }), DecryptionError);
    await assert.rejects(downloadFile(id, { baseUrl: server.url }), DecryptionError);

    await deleteFile(id, link.deleteToken, { baseUrl: server.url });
    await assert.rejects(
      downloadFile(id, { baseUrl: server.url, key }),
      (error: unknown) =>
        error instanceof LinkClientError && error.status === 410 && error.code === "expired",
    );
  },
});

Deno.test({
  ...options,
  name: "uploadFile({ encrypt: false }) keeps the name and type, with a download limit and expiry",
  async fn() {
    await using server = await startServer({ env: { UPLOADS_PER_HOUR: "1000" } });
    const bytes = randomBytes(200_000);
    const link = await uploadFile(new File([bytes], "notes.txt", { type: "text/plain" }), {
      baseUrl: server.url,
      encrypt: false,
      maxDownloads: 1,
      ttlSeconds: 120,
    });
    assert.equal(link.key, undefined);
    assert.ok(!link.url.includes("#"));
    assert.ok(Math.abs(Date.parse(link.expiresAt) - Date.now() - 120_000) < 10_000);
    const info = await getFileInfo(link.id, { baseUrl: server.url });
    assert.equal(info.name, "notes.txt");
    assert.equal(info.downloadsLeft, 1);
    const copy = await downloadFile(link.id, { baseUrl: server.url });
    assert.equal(copy.name, "notes.txt");
    assert.equal(copy.encrypted, false);
    assert.match(copy.type, /^text\/plain/);
    assert.equal(sha256Hex(new Uint8Array(await copy.blob.arrayBuffer())), sha256Hex(bytes));
    await assert.rejects(downloadFile(link.id, { baseUrl: server.url }), LinkClientError);
  },
});

Deno.test({
  ...options,
  name: "uploadFile() is cancelled by its AbortSignal and nothing stays stored",
  async fn() {
    await using server = await startServer({ env: { UPLOADS_PER_HOUR: "1000" } });
    const controller = new AbortController();
    const big = new Blob([randomBytes(16 * MiB), randomBytes(16 * MiB), randomBytes(16 * MiB)]);
    const upload = uploadFile(big, {
      baseUrl: server.url,
      signal: controller.signal,
      onProgress: (event) => {
        if (event.phase === "encrypting" && event.loaded > 8 * MiB) controller.abort();
      },
    });
    await assert.rejects(upload, (error: unknown) => (error as Error).name === "AbortError");

    const controller2 = new AbortController();
    const second = uploadFile(big, {
      baseUrl: server.url,
      encrypt: false,
      signal: controller2.signal,
    });
    await waitFor(async () => (await storedCounts(server.kvPath)).chunk > 0, {
      timeoutMs: 20_000,
    });
    controller2.abort();
    await assert.rejects(second, (error: unknown) => (error as Error).name === "AbortError");
    await waitFor(async () => {
      const counts = await storedCounts(server.kvPath);
      return counts.chunk === 0 && counts.upload === 0 && counts.file === 0;
    }, { timeoutMs: 10_000, message: "nothing stored after the cancel" });
  },
});

Deno.test({
  ...options,
  name: "uploadFile() sends a request again after a 503, and never after a 4xx",
  async fn() {
    await using server = await startServer({ env: { UPLOADS_PER_HOUR: "1000" } });
    // A real HTTP proxy in front of the real server that fails the first upload it sees.
    let attempts = 0;
    const port = freePort();
    const proxy = Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
      const url = new URL(req.url);
      if (url.pathname === "/api/upload" && ++attempts === 1) {
        await req.body?.cancel();
        return Response.json({ error: { code: "unavailable", message: "try later" } }, {
          status: 503,
        });
      }
      return await fetch(`${server.url}${url.pathname}${url.search}`, {
        method: req.method,
        headers: req.headers,
        body: req.body,
      });
    });
    try {
      const baseUrl = `http://127.0.0.1:${port}`;
      const bytes = randomBytes(100_000);
      const link = await uploadFile(new Blob([bytes]), { baseUrl, retryDelayMs: 10 });
      assert.equal(attempts, 2);
      const copy = await downloadFile(link.id, { baseUrl: server.url, key: link.key! });
      assert.equal(sha256Hex(new Uint8Array(await copy.blob.arrayBuffer())), sha256Hex(bytes));

      attempts = 1;
      await assert.rejects(
        uploadFile(new Blob([bytes]), { baseUrl, ttlSeconds: 0, retryDelayMs: 10 }),
        (error: unknown) =>
          error instanceof LinkClientError && error.status === 400 &&
          error.code === "invalid_request",
      );
      assert.equal(attempts, 2, "a 400 is not retried");

      await assert.rejects(
        uploadFile(new Blob([bytes]), { baseUrl, maxBytes: 1000 }),
        (error: unknown) => error instanceof LinkClientError && error.code === "file_too_large",
      );
      assert.equal(attempts, 2, "a file over maxBytes is refused before any request");
    } finally {
      await proxy.shutdown();
    }
  },
});
