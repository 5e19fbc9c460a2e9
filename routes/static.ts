import { Hono } from "hono";
import type { AppContext } from "../lib/context.ts";

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  json: "application/json",
};

async function serveFile(path: URL, cacheControl: string): Promise<Response | null> {
  try {
    const file = await Deno.readFile(path);
    const extension = path.pathname.split(".").pop() ?? "";
    return new Response(file, {
      headers: {
        "Content-Type": TYPES[extension] ?? "application/octet-stream",
        "Cache-Control": cacheControl,
        "X-Content-Type-Options": "nosniff",
      },
    });
  } catch {
    return null;
  }
}

/** Island bundles (content-hashed, cached for a year) and files in `static/`. */
export function staticRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  const islandsDir = new URL("../_build/islands/", import.meta.url);
  const staticDir = new URL("../static/", import.meta.url);
  const islandFiles = new Set(ctx.manifest.files);
  app.get("/_islands/:file", async (c, next) => {
    const file = c.req.param("file");
    if (!islandFiles.has(file)) return next();
    return await serveFile(new URL(file, islandsDir), "public, max-age=31536000, immutable") ??
      next();
  });
  app.get("/static/:file{[A-Za-z0-9_.-]+}", async (c, next) => {
    const file = c.req.param("file");
    if (file.startsWith(".")) return next();
    return await serveFile(new URL(file, staticDir), "public, max-age=3600") ?? next();
  });
  return app;
}
