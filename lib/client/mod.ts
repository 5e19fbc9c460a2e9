/**
 * @module
 * The browser-safe client SDK of the realtime core, used by every island:
 * {@linkcode RealtimeClient} (WebSocket or SSE, reconnect with backoff and
 * jitter, resume from the last cursor, offline queue, duplicate dropping).
 */
export { backoffDelay } from "./backoff.ts";
export { CursorTracker } from "./cursor_tracker.ts";
export {
  type ClientStatus,
  RealtimeClient,
  type RealtimeClientOptions,
  type ServerFrame,
} from "./realtime_client.ts";
