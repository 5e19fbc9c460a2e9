/**
 * @module
 * `@switchboard/client`: the Switchboard client SDK as one ES module for
 * browsers, Deno and Node ≥ 22 (global `WebSocket`; on Node 20 pass the `ws`
 * package through {@linkcode wsAdapter}). {@linkcode Switchboard} follows topics, notifications
 * and chat; {@linkcode RealtimeClient} is the connection underneath (reconnect
 * with backoff and jitter, resume from the last cursor, send queue, duplicate
 * dropping); {@linkcode apiFetch} calls the HTTP API.
 *
 * Built from `lib/client/` by `scripts/build_client_package.ts`; see README.md.
 *
 * @example
 * ```ts
 * import { Switchboard } from "./mod.ts";
 *
 * const board = new Switchboard({ baseUrl: "http://localhost:8000", token: "<user token>" });
 * board.notifications((notification) => console.log(notification.message));
 * ```
 */
export {
  ApiClientError,
  apiFetch,
  type ApiFetchOptions,
  type ApiIssue,
  backoffDelay,
  type ChatConnection,
  type ClientStatus,
  CursorTracker,
  type NotificationFrameData,
  RealtimeClient,
  type RealtimeClientOptions,
  type ServerFrame,
  type SubscriptionOptions,
  Switchboard,
  type SwitchboardOptions,
  type TopicEventFrame,
  wsAdapter,
  type WsConstructor,
} from "../../lib/client/mod.ts";
