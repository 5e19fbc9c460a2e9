/**
 * WebSocket close codes Switchboard uses. Clients resume (reconnect with their
 * last cursor) after every code except 4401 and 4403.
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
  /** The token stopped being valid. */
  unauthorized: 4401,
  /** The session or resource was closed for good (a closed transfer). */
  gone: 4410,
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
