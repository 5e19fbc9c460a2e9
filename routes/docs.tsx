/**
 * @module
 * The API reference: `GET /docs/openapi.json` (OpenAPI 3.1 built from the
 * endpoints' declarations), `GET /docs` (a server-rendered viewer of that
 * document) and `GET /docs/guides/:name` (the Markdown guides of `docs/`).
 */
import { Hono } from "hono";
import {
  buildOpenApi,
  fencedBlocks,
  GuideCache,
  type OpenApiDocument,
  type RegisteredRoute,
  renderGuide,
} from "../lib/api_docs/mod.ts";
import type { AppContext } from "../lib/context.ts";
import { ApiError, ERROR_CODES } from "../lib/errors/mod.ts";
import { ApiReference, type GuideLink, GuidePage } from "../components/ApiReference.tsx";
import { renderPage } from "../components/render_page.tsx";
import { API_TAGS, apiCatalog, EXAMPLE_SETUP_NOTE, isCatalogPath } from "./api_catalog.ts";
import { linkOrigin } from "./_http.ts";

/** The guides `/docs/guides/:name` may show (files `docs/<name>.md`), in reading order. */
export const GUIDE_NAMES = [
  "api",
  "protocol",
  "transfer",
  "file_share",
  "link_mode",
  "notifications",
  "chat",
  "deployment",
  "operations",
] as const;

/** The version of the HTTP API in the OpenAPI document. */
export const API_VERSION = "1.0.0";

const DOCS_DIR = new URL("../docs/", import.meta.url);

async function readGuideSource(name: string): Promise<string | null> {
  if (!(GUIDE_NAMES as readonly string[]).includes(name)) return null;
  try {
    return await Deno.readTextFile(new URL(`${name}.md`, DOCS_DIR));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * The docs routes. Mount after every other route module with a function that
 * returns the app's routes (Hono's `app.routes`, read when the document is
 * first built), so the document can list routes the catalog does not describe.
 */
export function docsRoutes(ctx: AppContext, routes: () => readonly RegisteredRoute[]): Hono {
  const app = new Hono();
  let built: OpenApiDocument | null = null;
  // Only the names of GUIDE_NAMES are ever cached: any other name is a 404 that leaves no trace.
  const guides = new GuideCache(GUIDE_NAMES, async (name) => {
    const source = await readGuideSource(name);
    return source === null ? null : renderGuide(source, { guides: GUIDE_NAMES });
  });

  // Built once (the routes are fixed by the first request); only the server URL varies: the
  // trusted origin, or "/" (relative to the document) behind an unknown Host.
  function openApi(origin: string): OpenApiDocument {
    if (!built) {
      built = buildOpenApi(apiCatalog(ctx.config), {
        title: "Switchboard API",
        version: API_VERSION,
        serverUrl: "",
        description: "Live file transfer, link-mode uploads, notifications and chat channels " +
          "over HTTP, Server-Sent Events and WebSocket. Realtime protocol: docs/protocol.md.",
        tags: API_TAGS.map(({ name, description }) => ({ name, description })),
        errorCodes: ERROR_CODES,
        registeredRoutes: routes(),
        include: isCatalogPath,
      });
    }
    return { ...built, servers: [{ url: origin }] };
  }

  async function guideLinks(): Promise<GuideLink[]> {
    const links: GuideLink[] = [];
    for (const name of GUIDE_NAMES) {
      const rendered = await guides.get(name);
      if (rendered) links.push({ name, title: rendered.title || name });
    }
    return links;
  }

  app.get("/docs/openapi.json", (c) => {
    c.header("Access-Control-Allow-Origin", "*");
    return c.json(openApi(linkOrigin(ctx, c) ?? "/"));
  });

  app.get("/docs", async (c) => {
    const document = openApi(linkOrigin(ctx, c) ?? "/");
    const tour = await readGuideSource("api");
    const setup = tour === null ? null : fencedBlocks(tour).find((block) => block.lang === "sh");
    return c.html(renderPage({
      title: "API reference · Switchboard",
      description: "Switchboard's HTTP, SSE and WebSocket API, generated from its schemas.",
      manifest: ctx.manifest,
      body: (
        <ApiReference
          document={document}
          setup={setup?.code ?? null}
          setupNote={EXAMPLE_SETUP_NOTE}
          guides={await guideLinks()}
          tagGuides={Object.fromEntries(
            API_TAGS.filter((tag) => tag.guide).map((tag) => [tag.name, tag.guide!]),
          )}
        />
      ),
    }));
  });

  app.get("/docs/guides/:name", async (c) => {
    const name = c.req.param("name");
    const rendered = await guides.get(name);
    if (!rendered) throw new ApiError("not_found", `There is no guide "${name.slice(0, 40)}"`);
    return c.html(renderPage({
      title: `${rendered.title || name} · Switchboard docs`,
      manifest: ctx.manifest,
      body: (
        <GuidePage
          name={name}
          title={rendered.title || name}
          html={rendered.html}
          headings={rendered.headings}
          guides={await guideLinks()}
        />
      ),
    }));
  });
  return app;
}
