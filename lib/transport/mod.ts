/**
 * @module
 * Transports: WebSocket and Server-Sent Events behind one {@linkcode Connection},
 * with frame validation, size and rate limits, bounded send queues, heartbeats
 * and documented close codes.
 */
export { CLOSE_CODES, TRANSPORT_ERRORS } from "./close_codes.ts";
export { type Connection, FrameRateLimiter, type TransportObserver } from "./connection.ts";
export { type FrameSchemas, type ParsedFrame, parseFrame } from "./frames.ts";
export { acceptWebSocket, type WebSocketOptions } from "./websocket.ts";
export { refusalCloseCode, refuseWebSocket, type WebSocketRefusal } from "./refusal.ts";
export { openSse, type SseOptions } from "./sse.ts";
export {
  type EventIdCheck,
  eventIdCursor,
  EventIdSigner,
  type EventIdSignerOptions,
} from "./signed_event_id.ts";
export { type DeliverOptions, deliverTopic } from "./deliver.ts";
export { type Admission, type Cap, type CapLease, ConnectionCaps } from "./connection_caps.ts";
