/**
 * @module
 * The installable app: the web app manifest (standalone window, icons, a
 * share target), the service worker (`service_worker.ts`, bundled into
 * `/sw.js`: pushed notifications, the offline app shell, shared files), and
 * the IndexedDB store the pages and the worker share.
 *
 * @example
 * ```ts
 * import { manifestProblems, webAppManifest } from "./mod.ts";
 * manifestProblems(webAppManifest()); // []
 * ```
 */
export {
  type ManifestIcon,
  manifestProblems,
  SHARE_FIELDS,
  SHARE_TARGET_ACTION,
  type WebAppManifest,
  webAppManifest,
} from "./manifest.ts";
export {
  APP_STORAGE_KEYS,
  deleteValue,
  type PushAuth,
  readValue,
  type SharedItems,
  takeValue,
  writeValue,
} from "./app_storage.ts";
export { registerServiceWorker, serviceWorkersSupported, takeSharedItems } from "./client.ts";
