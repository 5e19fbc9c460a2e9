/**
 * The installable app's files from a real server: the manifest has every
 * member an installable app with a share target needs, its icons are real
 * PNGs of the sizes it says, `/sw.js` is served so that a release is picked up,
 * pages link the manifest, and a share POST that reaches the server (no worker
 * yet) is sent on to /share with a note instead of failing.
 */
import assert from "node:assert/strict";
import { manifestProblems, type WebAppManifest } from "../lib/web_app/mod.ts";
import { sharedServer } from "./harness.ts";
import { INTEGRATION } from "./notifications_fixtures.ts";

/** The server of the tests below that need none of their own (see sharedServer). */
const webAppServer = sharedServer();

/** Width and height from a PNG's IHDR chunk; throws when the bytes are not a PNG. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...bytes.subarray(0, 8)], signature, "PNG signature");
  assert.equal(new TextDecoder().decode(bytes.subarray(12, 16)), "IHDR");
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

Deno.test({
  name: "the manifest has the required members, real 192 and 512 PNG icons and a share target",
  ...INTEGRATION,
  async fn() {
    const server = await webAppServer();
    const response = await fetch(`${server.url}/manifest.webmanifest`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/manifest\+json/);
    const manifest = await response.json() as WebAppManifest;
    assert.deepEqual(manifestProblems(manifest, server.url), []);
    assert.equal(manifest.name, "Switchboard");
    assert.equal(manifest.start_url, "/");
    assert.equal(manifest.display, "standalone");
    assert.match(manifest.theme_color, /^#[0-9a-f]{6}$/i);
    assert.deepEqual(
      { ...manifest.share_target, params: { ...manifest.share_target.params, files: undefined } },
      {
        action: "/share/receive",
        method: "POST",
        enctype: "multipart/form-data",
        params: { title: "title", text: "text", url: "url", files: undefined },
      },
    );
    assert.deepEqual(manifest.share_target.params.files, [{ name: "files", accept: ["*/*"] }]);

    // Every PNG icon is served, and is the size it claims.
    const sizes: string[] = [];
    for (const icon of manifest.icons.filter((item) => item.type === "image/png")) {
      const file = await fetch(new URL(icon.src, server.url));
      assert.equal(file.status, 200, icon.src);
      assert.equal(file.headers.get("content-type"), "image/png");
      const { width, height } = pngSize(new Uint8Array(await file.arrayBuffer()));
      assert.equal(`${width}x${height}`, icon.sizes, icon.src);
      sizes.push(`${icon.sizes} ${icon.purpose}`);
    }
    assert.deepEqual(sizes, ["192x192 any", "512x512 any", "512x512 maskable"]);

    // The check itself finds what is missing.
    const broken = {
      ...manifest,
      display: "browser",
      icons: manifest.icons.filter((icon) => icon.sizes !== "512x512"),
      share_target: { ...manifest.share_target, method: "GET" },
    };
    assert.deepEqual(manifestProblems(broken, server.url), [
      "display must be standalone, fullscreen or minimal-ui",
      'no 512x512 PNG icon with purpose "any"',
      "share_target must POST multipart/form-data to take files",
    ]);
  },
});

Deno.test({
  name: "/sw.js is served for scope / and never from a stale cache; pages link the manifest",
  ...INTEGRATION,
  async fn() {
    const server = await webAppServer();
    const worker = await fetch(`${server.url}/sw.js`);
    assert.equal(worker.status, 200);
    assert.match(worker.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.equal(worker.headers.get("cache-control"), "no-cache");
    const source = await worker.text();
    assert.doesNotMatch(source, /__SWITCHBOARD_VERSION__/, "the cache name carries the release");
    assert.match(source, /"[0-9a-f]{16}"/, "a version hash in its place");

    const page = await (await fetch(`${server.url}/share`)).text();
    assert.match(page, /<link rel="manifest" href="\/manifest\.webmanifest">/);

    // Without a worker (not installed yet) the share reaches the server: /share says so.
    const form = new FormData();
    form.append("files", new File(["x"], "a.txt"));
    const shared = await fetch(`${server.url}/share/receive`, {
      method: "POST",
      body: form,
      redirect: "manual",
    });
    await shared.body?.cancel();
    assert.equal(shared.status, 303);
    assert.equal(shared.headers.get("location"), "/share?shared=unavailable");
  },
});
