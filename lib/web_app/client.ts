/**
 * The page's side of the installable app (browser-safe): registering the
 * service worker, and taking files the system share sheet sent.
 */
import { APP_STORAGE_KEYS, type SharedItems, takeValue } from "./app_storage.ts";

/** True when this browser runs service workers (secure context, supported). */
export function serviceWorkersSupported(): boolean {
  return typeof navigator !== "undefined" && "serviceWorker" in navigator &&
    globalThis.isSecureContext === true;
}

/**
 * Registers `/sw.js` (scope `/`) and resolves with the active registration, or
 * null where service workers are not supported or registration failed. Asks
 * for no permission.
 */
export async function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!serviceWorkersSupported()) return null;
  try {
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    return await navigator.serviceWorker.ready;
  } catch {
    return null;
  }
}

/**
 * What `/share?shared=1` was opened with: the files and text the service
 * worker kept from a "Share → Switchboard" (taken once), or null when the page
 * was not opened by a share or they are gone.
 */
export async function takeSharedItems(
  search: string = globalThis.location?.search ?? "",
): Promise<SharedItems | null> {
  if (new URLSearchParams(search).get("shared") !== "1" || typeof indexedDB === "undefined") {
    return null;
  }
  try {
    return (await takeValue<SharedItems>(APP_STORAGE_KEYS.shared)) ?? null;
  } catch {
    return null;
  }
}
