/**
 * Switchboard's service worker, bundled by `deno task build` into `/sw.js`
 * (scope `/`): shows Web Push notifications and acks them when clicked, keeps
 * an offline copy of the app shell, and receives the system share sheet's
 * files. Runs in the browser's worker; nothing here runs on the server.
 */
import { safeLinkTarget } from "../notifications/links.ts";
import {
  APP_STORAGE_KEYS,
  type PushAuth,
  readValue,
  type SharedItems,
  writeValue,
} from "./app_storage.ts";
import { SHARE_FIELDS, SHARE_TARGET_ACTION } from "./manifest.ts";

// The worker's globals, as far as this file uses them (the project compiles against the DOM
// library, which has no ServiceWorkerGlobalScope).
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  request: Request;
  respondWith(response: Promise<Response> | Response): void;
}
interface PushEvent extends ExtendableEvent {
  data: { json(): unknown; text(): string } | null;
}
interface NotificationEvent extends ExtendableEvent {
  notification: Notification;
}
interface WindowClient {
  url: string;
  focus(): Promise<WindowClient>;
  navigate(url: string): Promise<WindowClient | null>;
}
interface WorkerScope {
  location: Location;
  registration: ServiceWorkerRegistration;
  clients: {
    matchAll(options: { type: "window"; includeUncontrolled: boolean }): Promise<WindowClient[]>;
    openWindow(url: string): Promise<WindowClient | null>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: "install" | "activate", listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: "fetch", listener: (event: FetchEvent) => void): void;
  addEventListener(type: "push", listener: (event: PushEvent) => void): void;
  addEventListener(type: "notificationclick", listener: (event: NotificationEvent) => void): void;
}

const worker = globalThis as unknown as WorkerScope;
/** Replaced by the server with a hash of this bundle and the island bundles it serves. */
const VERSION = "__SWITCHBOARD_VERSION__";
const SHELL_CACHE = `switchboard-shell-${VERSION}`;
/** The app's pages: cached at install and refreshed on each visit (no other page is kept). */
const SHELL_PAGES = ["/", "/notifications", "/share"];
/** Pages and files cached at install, so the app opens offline even before a first visit. */
const SHELL = [
  ...SHELL_PAGES,
  "/static/styles.css",
  "/static/favicon.svg",
  "/static/icon-192.png",
];
/** Never cached: private or live answers. */
const NETWORK_ONLY = ["/api/", "/embed/", "/metrics", "/healthz", "/sw.js", "/admin", "/docs"];

/** What a push message carries (lib/push/payload.ts). */
interface PushPayload {
  id?: string;
  type?: string;
  title?: string;
  body?: string;
  link?: string | null;
  timestamp?: string;
  requiresAck?: boolean;
}

worker.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // One page failing (a server mid-restart) must not keep the worker from installing.
    await Promise.allSettled(SHELL.map((path) => cache.add(path)));
    await worker.skipWaiting();
  })());
});

worker.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("switchboard-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await worker.clients.claim();
  })());
});

worker.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== worker.location.origin) return;
  if (request.method === "POST" && url.pathname === SHARE_TARGET_ACTION) {
    event.respondWith(receiveShare(request));
    return;
  }
  if (request.method !== "GET" || NETWORK_ONLY.some((path) => url.pathname.startsWith(path))) {
    return;
  }
  if (request.mode === "navigate") event.respondWith(page(request, url));
  else if (url.pathname.startsWith("/_islands/")) event.respondWith(bundle(request));
  else if (url.pathname.startsWith("/static/")) event.respondWith(staticFile(request));
});

/**
 * Pages: the network first (a fresh copy of an app page kept; other pages, such
 * as download links, are never stored), the saved copy marked offline without it.
 */
async function page(request: Request, url: URL): Promise<Response> {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    const storable = SHELL_PAGES.includes(url.pathname) && response.ok &&
      response.type === "basic" &&
      !/no-store|private/.test(response.headers.get("cache-control") ?? "");
    if (storable) await cache.put(url.pathname, response.clone());
    return response;
  } catch {
    const saved = await cache.match(url.pathname);
    return saved ? await markedOffline(saved) : offlinePage();
  }
}

/** Static files keep their names across releases: the network first, the saved copy offline. */
async function staticFile(request: Request): Promise<Response> {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const saved = await cache.match(request);
    if (saved) return saved;
    throw error;
  }
}

/** Island bundles are named after their content: the saved copy first. */
async function bundle(request: Request): Promise<Response> {
  const cache = await caches.open(SHELL_CACHE);
  const saved = await cache.match(request);
  if (saved) return saved;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

const OFFLINE_BANNER = '<div class="offline-banner" role="status" data-testid="offline-banner">' +
  "<strong>You are offline.</strong> This is the copy of the page saved on this device; " +
  "live updates come back with the connection.</div>";

async function markedOffline(saved: Response): Promise<Response> {
  const html = await saved.text();
  const marked = html.replace(/<body[^>]*>/, (tag) => `${tag}${OFFLINE_BANNER}`);
  return new Response(marked, {
    headers: { "Content-Type": "text/html; charset=utf-8", "X-Switchboard-Offline": "1" },
  });
}

function offlinePage(): Response {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Offline · Switchboard</title>
<link rel="stylesheet" href="/static/styles.css"></head><body>${OFFLINE_BANNER}
<main class="page"><h1>You are offline</h1><p>This page was not saved on this device yet.
Saved pages: <a href="/">Home</a>, <a href="/notifications">Notifications</a>,
<a href="/share">Share files</a>.</p></main></body></html>`;
  return new Response(html, {
    status: 503,
    headers: { "Content-Type": "text/html; charset=utf-8", "X-Switchboard-Offline": "1" },
  });
}

/**
 * "Share → Switchboard": keeps the shared files and text in IndexedDB and sends
 * the browser on to `/share`, whose island picks them up (303: the POST is not
 * repeated on reload).
 */
async function receiveShare(request: Request): Promise<Response> {
  try {
    const form = await request.formData();
    const files = form.getAll(SHARE_FIELDS.files).filter((item): item is File =>
      item instanceof File && item.name !== ""
    );
    const field = (name: string) => String(form.get(name) ?? "").slice(0, 10_000);
    const shared: SharedItems = {
      files,
      title: field(SHARE_FIELDS.title),
      text: field(SHARE_FIELDS.text),
      url: field(SHARE_FIELDS.url),
      receivedAt: new Date().toISOString(),
    };
    await writeValue(APP_STORAGE_KEYS.shared, shared);
    return Response.redirect(new URL("/share?shared=1", worker.location.origin).href, 303);
  } catch {
    return Response.redirect(new URL("/share?shared=failed", worker.location.origin).href, 303);
  }
}

worker.addEventListener("push", (event) => {
  event.waitUntil(showPushed(event.data));
});

/** Shows a pushed notification (every push shows one: browsers require it). */
async function showPushed(data: PushEvent["data"]): Promise<void> {
  let payload: PushPayload = {};
  try {
    payload = (data?.json() ?? {}) as PushPayload;
  } catch {
    payload = { body: data?.text().slice(0, 200) ?? "" };
  }
  const options: NotificationOptions & { timestamp?: number } = {
    body: payload.body ?? "",
    icon: "/static/icon-192.png",
    badge: "/static/icon-192.png",
    data: {
      id: payload.id ?? null,
      type: payload.type ?? null,
      link: payload.link ?? null,
      requiresAck: payload.requiresAck === true,
    },
    requireInteraction: payload.requiresAck === true,
  };
  if (payload.id) options.tag = payload.id;
  const timestamp = Date.parse(payload.timestamp ?? "");
  if (!Number.isNaN(timestamp)) options.timestamp = timestamp;
  await worker.registration.showNotification(payload.title || "Switchboard", options);
}

worker.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openNotification(event.notification));
});

/**
 * A click on a pushed notification: opens its link (a safe one: same origin,
 * or an http(s) URL; see lib/notifications/links.ts) or `/notifications`, and
 * acks and marks it read with the token the page stored when it subscribed.
 */
async function openNotification(notification: Notification): Promise<void> {
  const data = (notification.data ?? {}) as { id?: string; link?: string; requiresAck?: boolean };
  const origin = worker.location.origin;
  const target = new URL(safeLinkTarget(data.link, origin) ?? "/notifications", origin).href;
  await Promise.allSettled([focusOrOpen(target), acknowledge(data)]);
}

async function focusOrOpen(url: string): Promise<void> {
  const windows = await worker.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((client) => client.url === url);
  if (open) await open.focus();
  else await worker.clients.openWindow(url);
}

async function acknowledge(data: { id?: string; requiresAck?: boolean }): Promise<void> {
  if (!data.id) return;
  const auth = await readValue<PushAuth>(APP_STORAGE_KEYS.pushAuth);
  if (!auth?.token) return;
  const base = `${worker.location.origin}/api/notifications/${encodeURIComponent(data.id)}`;
  const headers = { Authorization: `Bearer ${auth.token}` };
  if (data.requiresAck) await fetch(`${base}/ack`, { method: "POST", headers });
  await fetch(`${base}/read`, { method: "POST", headers });
}
