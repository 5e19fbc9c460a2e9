/**
 * @module
 * The browser-safe client layer every island and browser-side module uses:
 * {@linkcode RealtimeClient} (WebSocket or SSE, reconnect with backoff and
 * jitter, resume from the last cursor, offline queue, duplicate dropping),
 * {@linkcode apiFetch} and its one error {@linkcode ApiClientError} (the API's
 * `{error:{code,message}}` envelope is read here only), and the guest identity
 * every page shares ({@linkcode guestIdentity}).
 *
 * @example
 * ```ts
 * import { apiFetch, guestIdentity } from "./mod.ts";
 * const guest = await guestIdentity();
 * const page = await apiFetch("/api/notifications?limit=20", { token: guest.token });
 * ```
 */
export { backoffDelay } from "./backoff.ts";
export { CursorTracker } from "./cursor_tracker.ts";
export {
  type ClientStatus,
  FINAL_CLOSE_CODES,
  RealtimeClient,
  type RealtimeClientOptions,
  type RefusalError,
  type ServerFrame,
  type StatusDetail,
} from "./realtime_client.ts";
export {
  type ChatConnection,
  type NotificationFrameData,
  type SubscriptionOptions,
  Switchboard,
  type SwitchboardOptions,
  type TopicEventFrame,
} from "./switchboard.ts";
export { wsAdapter, type WsConstructor } from "./ws_adapter.ts";
export { ApiClientError, apiErrorOf, type ApiIssue, parseApiError } from "./api_error.ts";
export { apiFetch, type ApiFetchOptions } from "./api_fetch.ts";
export { type TokenHolder, tokenHolder } from "./token_claims.ts";
export {
  forgetGuest,
  GUEST_EVENT,
  GUEST_RENEW_MARGIN_MS,
  GUEST_STORAGE_KEY,
  type GuestIdentity,
  guestIdentity,
  type GuestIdentityOptions,
  type GuestOptions,
  type GuestStorage,
  hasGuest,
  LEGACY_GUEST_KEYS,
  readGuest,
} from "./guest.ts";
