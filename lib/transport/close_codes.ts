/**
 * WebSocket close codes Switchboard uses. Clients resume (reconnect with their
 * last cursor) after 1001, 1008, 1011, 1012, 4008, 4429 and 4503; the other 4xxx
 * codes end the connection for good. A connect refused after the upgrade closes
 * with 4000 + the HTTP status it would have had (see `refusalCloseCode`).
 */
export const CLOSE_CODES = {
  /** Normal closure. */
  normal: 1000,
  /** Repeated rate-limit violations. */
  policyViolation: 1008,
  /** A frame larger than `MAX_MESSAGE_BYTES`: the client must not send it again. */
  messageTooBig: 1009,
  /** Server error while handling the connection. */
  internalError: 1011,
  /** The server is restarting or shutting down: reconnect and resume. */
  serviceRestart: 1012,
  /** The client did not read fast enough and its send queue filled: reconnect and resume. */
  slowConsumer: 4008,
  /** The request was malformed (a bad cursor, channel name or query): fix it, do not retry. */
  badRequest: 4400,
  /** The token is missing, forged, expired, spent or revoked: get a new token. */
  unauthorized: 4401,
  /** The token lacks a permission or grant for this resource: do not retry. */
  forbidden: 4403,
  /** No such resource (an unknown transfer code): do not retry. */
  notFound: 4404,
  /** The resource refuses this connection as it stands (a transfer already joined). */
  conflict: 4409,
  /** The session or resource was closed for good (a closed transfer). */
  gone: 4410,
  /** Too many connections (per address, user or user in a channel): retry after a few seconds. */
  tooManyConnections: 4429,
  /** The resource is full or unavailable for now (a chat channel at its limit): retry later. */
  unavailable: 4503,
} as const;

/** Error codes of `{"type":"error"}` frames sent by the transport itself. */
export const TRANSPORT_ERRORS = {
  invalid_json: "The frame is not valid JSON",
  invalid_frame: "The frame does not match the protocol",
  unknown_type: "The frame type is not known",
  message_too_large: "The frame is larger than the limit",
  binary_not_supported: "Binary frames are not supported; send JSON text",
  rate_limited: "Too many frames; slow down",
  internal_error: "The server could not handle the frame",
} as const;
