/**
 * @module
 * The installable app's files: `/manifest.webmanifest`, `/sw.js` (the service
 * worker, scope `/`) and the share target's fallback for browsers without the
 * worker.
 */
import { Hono } from "hono";
import type { AppContext } from "../lib/context.ts";
import { SHARE_TARGET_ACTION, webAppManifest } from "../lib/web_app/mod.ts";

const WORKER_FILE = new URL("../_build/sw.js", import.meta.url);

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** `GET /manifest.webmanifest`, `GET /sw.js`, `POST /share/receive`. */
export function webAppRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  const manifest = JSON.stringify(webAppManifest());
  // The worker's cache is named after this release's worker and island bundles, so a release
  // installs a new worker and drops the old copies.
  let worker: Promise<string | null> | null = null;
  const loadWorker = () =>
    worker ??= Deno.readTextFile(WORKER_FILE).then(async (source) => {
      const version = (await sha256Hex(source + JSON.stringify(ctx.manifest.islands))).slice(0, 16);
      return source.replaceAll("__SWITCHBOARD_VERSION__", version);
    }).catch(() => null);

  app.get("/manifest.webmanifest", (c) =>
    c.body(manifest, 200, {
      "Content-Type": "application/manifest+json; charset=utf-8",
      "Cache-Control": "public, max-age=3600",
    }));

  app.get("/sw.js", async (c, next) => {
    const source = await loadWorker();
    if (source === null) return next();
    return c.body(source, 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      // Browsers check for a new worker on navigation; never let a cache hide a release.
      "Cache-Control": "no-cache",
      "Service-Worker-Allowed": "/",
      "X-Content-Type-Options": "nosniff",
    });
  });

  // The service worker answers this POST itself. It reaches the server only without one (not
  // installed yet, or a browser without workers): the files cannot be handed on, so say so.
  app.post(SHARE_TARGET_ACTION, async (c) => {
    await c.req.raw.body?.cancel().catch(() => {});
    return c.redirect("/share?shared=unavailable", 303);
  });

  return app;
}
