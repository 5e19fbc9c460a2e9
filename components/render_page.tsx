import type { VNode } from "preact";
import { render } from "preact-render-to-string";
import { collectIslands, type IslandManifest } from "../lib/islands/mod.ts";

/** Everything a full HTML page needs. */
export interface PageOptions {
  title: string;
  body: VNode;
  manifest: IslandManifest;
  description?: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * Renders a page to an HTML document. The body is rendered first, so only the
 * islands it used get a module script; a page without islands ships no JS.
 */
export function renderPage(options: PageOptions): string {
  const { result: body, islands } = collectIslands(() => render(options.body));
  const scripts = islands
    .map((name) => options.manifest.islands[name])
    .filter((src): src is string => typeof src === "string")
    .map((src) => `<script type="module" src="${escapeHtml(src)}"></script>`)
    .join("");
  const description = options.description ??
    "Switchboard: peer-to-peer file transfer, notifications and chat channels.";
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(options.title)}</title>` +
    `<meta name="description" content="${escapeHtml(description)}">` +
    `<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">` +
    `<link rel="manifest" href="/manifest.webmanifest">` +
    `<meta name="theme-color" content="#1f6feb">` +
    `<link rel="apple-touch-icon" href="/static/icon-192.png">` +
    `<link rel="stylesheet" href="/static/styles.css">` +
    `</head><body>${body}${scripts}</body></html>`;
}
