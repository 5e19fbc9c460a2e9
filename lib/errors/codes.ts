/**
 * The registry of every error code the HTTP API answers with: its status and
 * what it means. `ApiError` takes its status from here, `/docs` lists it, and a
 * test checks that every code is answered by some endpoint.
 */

/** One registered error code. */
export interface ErrorCodeDoc {
  /** The HTTP status the code is answered with. */
  status: number;
  /** What it means, for the reference page. */
  description: string;
}

/** Every error code of the HTTP API, its status and what it means. */
export const ERROR_CODES = {
  invalid_request: {
    status: 400,
    description: "A field is missing or has the wrong type or size; the message names it.",
  },
  invalid_json: {
    status: 400,
    description: "The body is not valid JSON, or nests objects and arrays deeper than 128 levels.",
  },
  body_too_large: {
    status: 413,
    description:
      "The body is larger than the endpoint accepts (64 KiB unless it says otherwise); " +
      "cut off while it streams in.",
  },
  body_timeout: {
    status: 408,
    description: "The body stalled: a JSON body not complete within `BODY_TIMEOUT_SECONDS`, or " +
      "an upload that sent nothing for that long.",
  },
  body_aborted: {
    status: 400,
    description: "The body ended before it was complete (the client went away mid-request).",
  },
  rate_limited: {
    status: 429,
    description:
      "Too many requests from this address (or to this user); `Retry-After` says when to retry.",
  },
  not_found: { status: 404, description: "No such endpoint, or no such file." },
  invalid_host: {
    status: 400,
    description: "The answer carries links, and without `PUBLIC_URL` they are built only for " +
      "a loopback host or one in `PUBLIC_HOSTS`, never for whatever `Host` header a request sends.",
  },
  missing_api_key: {
    status: 401,
    description: "The endpoint needs `Authorization: Bearer <API key>`.",
  },
  invalid_api_key: { status: 401, description: "The bearer token is not the API key." },
  missing_token: { status: 401, description: "No token was sent." },
  invalid_token: {
    status: 401,
    description:
      "The token is forged, malformed, or of the wrong kind (a stream token on a non-stream endpoint); " +
      "on `/metrics`, not the `METRICS_TOKEN`.",
  },
  expired_token: { status: 401, description: "The token has expired." },
  token_used: { status: 401, description: "The single-use stream token was used already." },
  token_revoked: {
    status: 401,
    description: "The token was issued before its user's tokens were revoked " +
      "(`POST /api/tokens/revoke`); get a new one.",
  },
  forbidden: {
    status: 403,
    description:
      "The token may not do this (e.g. read another user's topic, publish to a non-`app:` topic).",
  },
  guests_disabled: { status: 403, description: "`SWITCHBOARD_GUESTS=off`." },
  permission_not_grantable: {
    status: 400,
    description:
      "`perms` names a permission user tokens cannot carry (`admin`: only the API key administers).",
  },
  invalid_topic: { status: 400, description: "Not a topic name (`kind:name`)." },
  event_too_large: { status: 413, description: "The event's data is over 60 KiB." },
  invalid_cursor: {
    status: 400,
    description: "`since`, `Last-Event-ID` or `before` is not a cursor.",
  },
  upgrade_required: {
    status: 426,
    description: "A WebSocket endpoint was called without `Upgrade: websocket`.",
  },
  session_not_found: { status: 404, description: "No transfer session has this code or id." },
  session_already_joined: {
    status: 409,
    description: "Someone joined this code already; codes are single-join.",
  },
  session_expired: { status: 410, description: "The transfer session expired." },
  session_closed: { status: 410, description: "The transfer session was closed." },
  invalid_transfer_token: {
    status: 403,
    description: "The token is not this session's token for that role.",
  },
  code_space_exhausted: {
    status: 503,
    description: "No free transfer code could be found; retry.",
  },
  file_too_large: { status: 413, description: "The upload passed `MAX_UPLOAD_BYTES`." },
  invalid_filename: {
    status: 400,
    description: "Nothing usable is left of the file name after cleaning.",
  },
  invalid_multipart: {
    status: 400,
    description: "The multipart body cannot be read (no boundary, no file part, cut short).",
  },
  upload_aborted: {
    status: 400,
    description: "The client stopped sending before the body was complete.",
  },
  upload_interrupted: {
    status: 503,
    description: "The upload was taken for abandoned and cleaned up; retry it.",
  },
  expired: {
    status: 410,
    description: "The file expired, reached its download limit or was deleted.",
  },
  range_not_satisfiable: { status: 416, description: "The `Range` is outside the file." },
  delete_token_required: { status: 401, description: "No delete token was sent." },
  wrong_delete_token: { status: 403, description: "The delete token does not match." },
  missing_user: { status: 400, description: "Neither `userId` nor `userIds` was given." },
  missing_message: { status: 400, description: "A one-line publish with an empty body." },
  invalid_priority: {
    status: 400,
    description: "`Priority` is not 1-5 or min, low, default, high, urgent, max.",
  },
  invalid_user: { status: 400, description: "A user id is not a user id." },
  too_many_recipients: { status: 400, description: "More than `NOTIFY_MAX_RECIPIENTS` users." },
  unknown_type: {
    status: 400,
    description: "The notification type is not registered; the message lists the known ones.",
  },
  invalid_data: {
    status: 400,
    description: "`data` does not fit the type's schema; `issues` lists every problem.",
  },
  data_too_large: { status: 413, description: "`data` is over `NOTIFY_MAX_DATA_BYTES`." },
  notification_not_found: {
    status: 404,
    description: "The user has no notification with this id.",
  },
  push_endpoint_not_allowed: {
    status: 400,
    description: "The push endpoint is not https, or not on a known push service's host " +
      "(FCM, Mozilla, Windows, Apple) nor in `PUSH_ENDPOINT_HOSTS`.",
  },
  invalid_push_subscription: {
    status: 400,
    description: "`keys.p256dh` is not a P-256 point or `keys.auth` is not 16 bytes, base64url.",
  },
  push_subscription_not_found: {
    status: 404,
    description: "The user has no push subscription with this endpoint or id.",
  },
  invalid_channel: {
    status: 400,
    description:
      "Not a channel name: 1-64 lowercase letters, digits, `_` or `-`, after an optional namespace such as `private:`.",
  },
  no_read_permission: { status: 403, description: "The token lacks `chat:read`." },
  channel_forbidden: {
    status: 403,
    description:
      "The channel is private (its name starts with `CHAT_PRIVATE_PREFIX`) and the token has no grant for it; guests never do.",
  },
  too_many_connections: {
    status: 429,
    description:
      "This address (`CONNECTIONS_PER_ADDRESS`), this user (`CONNECTIONS_PER_USER`) or this user in this channel (`CHANNEL_CONNECTIONS_PER_USER`) already has that many open connections on the isolate that answered; `Retry-After` says when to try again.",
  },
  channel_full: {
    status: 503,
    description:
      "The channel has `CHANNEL_MAX_CONNECTIONS` connections; `Retry-After` says when to retry.",
  },
  unknown_message: {
    status: 404,
    description:
      "`before` names a message that is not among the channel's newest 1,000 (page back with " +
      "`nextBefore` cursors instead).",
  },
  quota_exceeded: {
    status: 507,
    description: "The topic is over its storage quota; retry later.",
  },
  storage_full: {
    status: 507,
    description:
      "The server's storage budget for this kind of data (`UPLOAD_STORAGE_BYTES` for uploads) is used up for now; retry later. Over a socket (signaling, chat) it is an error frame with the same code.",
  },
  internal_error: { status: 500, description: "The server failed; it logged the cause." },
} as const satisfies Record<string, ErrorCodeDoc>;

/** A registered error code (a key of {@linkcode ERROR_CODES}). */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The HTTP status of a registered code.
 *
 * @example
 * ```ts
 * errorStatus("session_already_joined"); // 409
 * ```
 */
export function errorStatus(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}
