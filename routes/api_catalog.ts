/**
 * @module
 * The API catalog: every HTTP endpoint the app registers under `/api` (plus
 * `/healthz` and `/metrics`), described with the zod schemas the routes
 * validate with. `/docs` and `/docs/openapi.json` are built from it, a test
 * runs every `example` against a real server, and another asserts that no
 * registered route is missing here.
 *
 * Examples use `$BASE`, `$KEY`, `$TOKEN` and the `ws` helper from the setup in
 * docs/api.md ({@linkcode EXAMPLE_SETUP_NOTE}).
 */
import { z } from "zod";
import type { EndpointDoc, ErrorCodeDoc } from "../lib/api_docs/mod.ts";
import type { Config } from "../lib/config/mod.ts";
import { CHANNEL_ID_PATTERN, chatClientFrames } from "../lib/chat/mod.ts";
import { NOTIFICATION_TYPES } from "../lib/notifications/mod.ts";
import { TOPIC_PATTERN } from "../lib/realtime/mod.ts";
import { signalingClientFrames } from "../lib/transfer/mod.ts";
import { guestRequestSchema, revokeRequestSchema, tokenRequestSchema } from "./identity.ts";
import { topicClientFrames, topicHistoryQuerySchema, topicPublishSchema } from "./topics.ts";
import {
  closeTransferSchema,
  createTransferSchema,
  iceServersQuerySchema,
  joinTransferSchema,
  signalingQuerySchema,
} from "./transfer.ts";
import { uploadQuerySchema } from "./link.ts";
import {
  notificationClientFrames,
  notificationDemoSchema,
  notificationHistoryQuerySchema,
  notificationLogQuerySchema,
  notificationPreferencesBodySchema,
  notificationPublishSchema,
} from "./notifications.ts";
import { historyQuerySchema } from "./chat.ts";

/** The groups of the reference, in page order, with the guide that explains each. */
export const API_TAGS: { name: string; description: string; guide?: string }[] = [
  {
    name: "Identity",
    description: "The API key for backends, user and guest tokens, single-use stream tokens.",
  },
  {
    name: "Topics",
    description: "Ordered logs with gapless offsets: publish, read history, follow over SSE or " +
      "WebSocket and resume with a cursor.",
    guide: "protocol",
  },
  {
    name: "Live transfer",
    description: "Sessions with single-join codes, WebRTC signaling over a WebSocket with " +
      "store-and-forward, ICE servers. File bytes never pass through the server.",
    guide: "transfer",
  },
  {
    name: "Link mode",
    description: "Upload now, download later: streamed into KV, expiring links, download limits, " +
      "ranges, optional end-to-end encryption.",
    guide: "link_mode",
  },
  {
    name: "Notifications",
    description: "Typed JSON from your backend to every tab and device of a user, with acks, " +
      "re-sends, read state, history, preferences and an audit log.",
    guide: "notifications",
  },
  {
    name: "Chat",
    description: "Channels with stored messages, history pages, presence, typing and exact replay.",
    guide: "chat",
  },
  {
    name: "Admin",
    description: "The operator's snapshot of every isolate, once or live over SSE.",
    guide: "operations",
  },
  {
    name: "Operations",
    description: "Health and Prometheus metrics for load balancers and monitoring.",
    guide: "operations",
  },
];

/** Every error code the HTTP API answers with, its status and what it means. */
export const ERROR_CODES: Record<string, ErrorCodeDoc> = {
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
  storage_full: {
    status: 507,
    description:
      "The server's storage budget for this kind of data (`UPLOAD_STORAGE_BYTES` for uploads) is used up for now; retry later. Over a socket (signaling, chat) it is an error frame with the same code.",
  },
  internal_error: { status: 500, description: "The server failed; it logged the cause." },
};

/** Where the examples' variables come from (shown on the reference page). */
export const EXAMPLE_SETUP_NOTE =
  "Examples use `$BASE` (the server), `$KEY` (the API key), `$TOKEN` (a user token for " +
  "`ada`) and a small `ws` helper, all from the setup block of docs/api.md.";

/** True for the paths the catalog must cover: the API and the operations endpoints. */
export function isCatalogPath(path: string): boolean {
  return path.startsWith("/api/") || path === "/healthz" || path === "/readyz" ||
    path === "/metrics";
}

const JSON_ERRORS = [
  "invalid_json",
  "invalid_request",
  "body_too_large",
  "body_timeout",
  "body_aborted",
];
const API_KEY_ERRORS = ["missing_api_key", "invalid_api_key"];
const USER_ERRORS = ["missing_token", "invalid_token", "expired_token", "token_revoked"];
const STREAM_ERRORS = [
  "missing_token",
  "invalid_token",
  "expired_token",
  "token_used",
  "too_many_connections",
  "token_revoked",
];
const JSON_HEADER = "-H 'Content-Type: application/json'";

// The stream endpoints read these with requireStreamToken() and resumePosition(), not with a
// zod schema; this is their documentation.
const streamQuerySchema = z.object({
  token: z.string().optional().describe(
    "A stream token (single-use, ≤ 60 s) or a user token; or send `Authorization: Bearer`, " +
      "or (WebSocket) the subprotocol `token.<token>` next to `switchboard`.",
  ),
  since: z.string().optional().describe(
    "Resume after this cursor (`<epoch>-<offset>`) or bare offset; SSE also takes `Last-Event-ID`. " +
      "Topic and notification streams also take `all`, a duration (`10m`, `2h`) or a time " +
      "(ISO 8601 or 10-digit Unix seconds).",
  ),
});

const topicParams = z.object({
  topic: z.string().regex(TOPIC_PATTERN).describe("`kind:name`, e.g. `app:news` or `user:ada`."),
});
const channelParams = z.object({
  channelId: z.string().regex(CHANNEL_ID_PATTERN).describe("The channel, e.g. `lobby`."),
});
const fileParams = z.object({
  id: z.string().describe("The `id` the upload answered with."),
});
const notificationParams = z.object({
  id: z.string().min(1).max(128).describe("The notification id."),
});

const MINT_STREAM = `STREAM=$(curl -fsS -X POST "$BASE/api/notifications/stream-token" \\
  -H "Authorization: Bearer $TOKEN" | jq -r .token)`;

function upload(query = ""): string {
  return `UPLOAD=$(echo 'hello, world' | curl -fsS -X POST "$BASE/api/upload${query}" \\
  -H 'X-Filename: hello.txt' -H 'Content-Type: text/plain' --data-binary @-)
ID=$(jq -r .id <<<"$UPLOAD")`;
}

function publishTo(user: string, extra = ""): string {
  return `curl -fsS -X POST "$BASE/api/notifications/publish" -H "Authorization: Bearer $KEY" \\
  ${JSON_HEADER} -d '{"userId":"${user}","type":"success","data":{"message":"Hi"}${extra}}'`;
}

function identity(): EndpointDoc[] {
  return [
    {
      method: "POST",
      path: "/api/tokens",
      tag: "Identity",
      summary: "Mint a user token",
      description: "Your backend signs in its user and hands the token to the browser. The token " +
        "(JWT HS256) carries the user id (`sub`), `name`, `perms` and `exp`. Without `perms` it " +
        "gets `chat:read` and `chat:write`; `ttlSeconds` defaults to one day.",
      auth: "api_key",
      body: tokenRequestSchema,
      notes: {
        userId: "Your user id.",
        name: "Display name (default: the user id).",
        perms: "Permissions: `chat:read`, `chat:write`, `topics:read`, `topics:publish`; default " +
          "`chat:read`, `chat:write`. `admin` is refused (`permission_not_grantable`): the API " +
          "key is the only admin credential.",
        ttlSeconds: "Life of the token.",
        channels: "Private chat channels it opens: exact names (`private:team`) or prefixes " +
          "ending in `*` (`private:team-*`; `*` opens every channel). At most 100. Public " +
          "channels need no grant.",
      },
      responses: {
        201: "`{token, expiresAt}`",
        400: "Invalid body, or a permission a user token cannot carry",
        401: "No or wrong API key",
      },
      errors: [...API_KEY_ERRORS, ...JSON_ERRORS, "permission_not_grantable"],
      example:
        `curl -fsS -X POST "$BASE/api/tokens" -H "Authorization: Bearer $KEY" ${JSON_HEADER} \\
  -d '{"userId":"grace","name":"Grace","perms":["chat:read"],"ttlSeconds":600,"channels":["private:team-*"]}'`,
    },
    {
      method: "POST",
      path: "/api/tokens/revoke",
      tag: "Identity",
      summary: "Revoke a user's tokens",
      description: "Signs a user out everywhere: every token of `userId` issued before now " +
        "(user, guest and stream tokens) is refused from then on with 401 `token_revoked`, " +
        "on HTTP endpoints and when a stream or socket connects, on every isolate; open " +
        "WebSockets and SSE streams of those tokens get an `error` frame `token_revoked` and " +
        "close (WebSocket code 4401). Tokens minted afterwards work, so you can sign the user in again at once. Each check is one " +
        "KV read, run alongside the connection's own reads.",
      auth: "api_key",
      body: revokeRequestSchema,
      notes: { userId: "The user whose tokens to revoke (a guest's `guest_…` id works too)." },
      responses: { 200: "`{userId, notBefore}`", 400: "Invalid body", 401: "No or wrong API key" },
      errors: [...API_KEY_ERRORS, ...JSON_ERRORS],
      example: `OLD=$(curl -fsS -X POST "$BASE/api/tokens" -H "Authorization: Bearer $KEY" \\
  ${JSON_HEADER} -d '{"userId":"mallory"}' | jq -r .token)
curl -fsS -X POST "$BASE/api/tokens/revoke" -H "Authorization: Bearer $KEY" ${JSON_HEADER} \\
  -d '{"userId":"mallory"}'
# the older token is refused now: 401 token_revoked, so curl -f fails
! curl -fsS "$BASE/api/notifications" -H "Authorization: Bearer $OLD"`,
    },
    {
      method: "POST",
      path: "/api/auth/guest",
      tag: "Identity",
      summary: "Get a guest token",
      description: "A token for a new guest user (`guest_<ulid>`) with `chat:read` and " +
        "`chat:write`, valid 7 days. On by default so the demos work; `SWITCHBOARD_GUESTS=off` " +
        "turns it off.",
      auth: "none",
      body: guestRequestSchema,
      notes: { name: "Display name, 1-64 characters without control characters." },
      responses: {
        201: "`{token, expiresAt, userId, name}`",
        400: "Invalid body",
        403: "Guests are turned off",
      },
      errors: ["guests_disabled", ...JSON_ERRORS, "rate_limited"],
      example: `curl -fsS -X POST "$BASE/api/auth/guest" ${JSON_HEADER} -d '{"name":"Grace"}'`,
    },
    {
      method: "POST",
      path: "/api/notifications/stream-token",
      tag: "Identity",
      summary: "Mint a stream token",
      description:
        "Browsers cannot set headers on `EventSource` and `WebSocket`, so streams take " +
        "`?token=`. A stream token lives at most 60 s and opens one stream, once (enforced in KV " +
        "across isolates), so a URL that leaks into a log is useless. It carries the user's " +
        "permissions (never `admin`) and works on every stream endpoint.",
      auth: "user_token",
      responses: { 201: "`{token, expiresAt}`", 401: "No or bad user token" },
      errors: [...USER_ERRORS, "rate_limited"],
      guides: ["protocol"],
      example:
        `curl -fsS -X POST "$BASE/api/notifications/stream-token" -H "Authorization: Bearer $TOKEN"`,
    },
  ];
}

function topics(): EndpointDoc[] {
  return [
    {
      method: "POST",
      path: "/api/topics/{topic}/publish",
      tag: "Topics",
      summary: "Publish an event to an app topic",
      description: "Appends `data` to an `app:*` topic and answers with its offset and cursor. " +
        "`id` makes it idempotent: the same id again answers the first event with " +
        "`duplicate: true`. Data is at most 60 KiB.",
      auth: "api_key",
      params: topicParams,
      body: topicPublishSchema,
      notes: { data: "Any JSON value.", id: "Idempotency key." },
      responses: {
        202: "`{offset, cursor, duplicate}`",
        400: "Not a topic name or invalid body",
        401: "No or wrong API key",
        403: "Not an `app:` topic",
        413: "Data too large",
      },
      errors: [
        ...API_KEY_ERRORS,
        "invalid_topic",
        "forbidden",
        "event_too_large",
        ...JSON_ERRORS,
      ],
      guides: ["protocol"],
      example:
        `curl -fsS -X POST "$BASE/api/topics/app:news/publish" -H "Authorization: Bearer $KEY" \\
  ${JSON_HEADER} -d '{"data":{"title":"Hello"},"id":"news-1"}'`,
    },
    {
      method: "GET",
      path: "/api/topics/{topic}/history",
      tag: "Topics",
      summary: "Read stored events",
      description: "Stored events after `after`, oldest first, as event frames. `app:*` topics " +
        "need the `topics:read` permission; `user:<id>` only its own user.",
      auth: "user_token",
      params: topicParams,
      query: topicHistoryQuerySchema,
      notes: { after: "Only events after this offset.", limit: "Most events to return." },
      responses: {
        200: "`{events: [{type, topic, offset, cursor, time, data}]}`",
        400: "Not a topic name",
        401: "No or bad token",
        403: "This token cannot read the topic",
      },
      errors: [...USER_ERRORS, "invalid_topic", "forbidden", "invalid_request", "rate_limited"],
      guides: ["protocol"],
      example:
        `curl -fsS -X POST "$BASE/api/topics/app:news/publish" -H "Authorization: Bearer $KEY" \\
  ${JSON_HEADER} -d '{"data":{"title":"Hello"}}' >/dev/null
curl -fsS "$BASE/api/topics/app:news/history?limit=10" -H "Authorization: Bearer $TOKEN"`,
    },
    {
      method: "GET",
      path: "/api/topics/{topic}/events",
      tag: "Topics",
      summary: "Follow a topic (SSE)",
      transport: "sse",
      description: "A Server-Sent Events stream of the topic: each event's `id:` is its cursor " +
        "and `data:` the event frame. Replays what came after `since` (or `Last-Event-ID`, which " +
        "EventSource sends by itself on reconnect), then stays live. Comment heartbeats keep " +
        "proxies from closing it.",
      auth: "stream_token",
      params: topicParams,
      query: streamQuerySchema,
      headers: { "Last-Event-ID": "The cursor to resume after (EventSource sets it)." },
      serverFrames: {
        "(message)": '`{type: "event", topic, offset, cursor, time, data}` with `id:` = cursor',
        error: "`too_far_behind` or `epoch_changed` with the `cursor` the stream continues from",
      },
      responses: {
        200: "An event stream",
        400: "Bad topic or cursor",
        401: "No or bad token",
        403: "This token cannot read the topic",
      },
      errors: [...STREAM_ERRORS, "invalid_topic", "invalid_cursor", "forbidden", "rate_limited"],
      guides: ["protocol"],
      example: `${MINT_STREAM}
# follow for two seconds, replaying from the start
timeout 2 curl -fsSN "$BASE/api/topics/app:news/events?token=$STREAM&since=0" || test $? -eq 124`,
    },
    {
      method: "GET",
      path: "/api/ws/topics/{topic}",
      tag: "Topics",
      summary: "Follow and publish over a WebSocket",
      transport: "websocket",
      description: "Upgrades to a WebSocket that streams the topic like the SSE endpoint " +
        "(replay after `since`, then live). Tokens with `topics:publish` may publish to `app:*` " +
        "topics with `publish` frames. Every frame is JSON with a `type`; `ping` gets `pong`.",
      auth: "stream_token",
      params: topicParams,
      query: streamQuerySchema,
      frames: topicClientFrames,
      serverFrames: {
        event: "`{type, topic, offset, cursor, time, data}`",
        published: "`{type, offset, cursor, id}`: the answer to `publish`",
        error: "`{type, code, message}`",
        pong: "The answer to `ping`",
      },
      responses: {
        101: "Switching protocols",
        400: "Bad topic or cursor",
        401: "No or bad token",
        403: "This token cannot read the topic",
        426: "Not a WebSocket request",
      },
      errors: [
        ...STREAM_ERRORS,
        "invalid_topic",
        "invalid_cursor",
        "forbidden",
        "upgrade_required",
        "rate_limited",
      ],
      guides: ["protocol"],
      example: `${MINT_STREAM}
ws "/api/ws/topics/app:news?token=$STREAM" '{"type":"publish","data":{"title":"From a socket"}}'`,
    },
  ];
}

function transfer(config: Config): EndpointDoc[] {
  const create = `SESSION=$(curl -fsS -X POST "$BASE/api/transfer/create" ${JSON_HEADER} -d '{}')`;
  return [
    {
      method: "POST",
      path: "/api/transfer/create",
      tag: "Live transfer",
      summary: "Create a transfer session",
      description: "Creates a session with a 6-character code (an unambiguous alphabet) that " +
        "exactly one receiver can join. `joinUrl` opens the receive page. An unjoined session " +
        "expires after `ttlSeconds` (default `TRANSFER_TTL_SECONDS`).",
      auth: "none",
      body: createTransferSchema(config.TRANSFER_MAX_SECONDS),
      notes: {
        files: "What the sender offers, shown to the receiver.",
        "files[].size": "Bytes.",
        "files[].type": "Media type.",
        ttlSeconds: "Life of the unjoined code.",
      },
      responses: {
        201: "`{transferId, code, senderToken, expiresAt, joinUrl}`",
        400: "Invalid body, or a `Host` that links are not built for",
        429: "Too many sessions from this address (`TRANSFERS_PER_HOUR`)",
        503: "No free code",
      },
      errors: [...JSON_ERRORS, "invalid_host", "code_space_exhausted", "rate_limited"],
      guides: ["transfer"],
      example: `curl -fsS -X POST "$BASE/api/transfer/create" ${JSON_HEADER} \\
  -d '{"files":[{"name":"photo.jpg","size":204800,"type":"image/jpeg"}]}'`,
    },
    {
      method: "POST",
      path: "/api/transfer/join",
      tag: "Live transfer",
      summary: "Join a transfer by its code",
      description: "The receiver's side. Single-join: exactly one join ever succeeds, also under " +
        "concurrent joins on different isolates. Attempts are rate limited per client address " +
        "(`JOIN_ATTEMPTS_PER_MINUTE`), so codes cannot be guessed by brute force.",
      auth: "none",
      body: joinTransferSchema,
      notes: {
        code:
          "The 6-character code; case, spaces and dashes are ignored. The alphabet has no look-alike characters (0, O, 1, I, L, U).",
      },
      responses: {
        200: "`{transferId, receiverToken, expiresAt, files}`",
        404: "No such code",
        409: "Already joined",
        410: "Expired or closed",
        429: "Too many attempts",
      },
      errors: [
        "session_not_found",
        "session_already_joined",
        "session_expired",
        "session_closed",
        "rate_limited",
        ...JSON_ERRORS,
      ],
      guides: ["transfer"],
      example: `${create}
curl -fsS -X POST "$BASE/api/transfer/join" ${JSON_HEADER} -d "$(jq -c '{code}' <<<"$SESSION")"`,
    },
    {
      method: "POST",
      path: "/api/transfer/close",
      tag: "Live transfer",
      summary: "Close a transfer session",
      description: "Either side ends the session with its own token; the other side is told " +
        "(`cancel`) and its socket closes with 4410. Closing twice is fine.",
      auth: "transfer_token",
      body: closeTransferSchema,
      notes: { token: "The `senderToken` or `receiverToken`." },
      responses: {
        200: '`{transferId, code, state: "closed"}`',
        403: "Wrong token",
        404: "No such session",
      },
      errors: ["session_not_found", "invalid_transfer_token", ...JSON_ERRORS, "rate_limited"],
      guides: ["transfer"],
      example: `${create}
curl -fsS -X POST "$BASE/api/transfer/close" ${JSON_HEADER} \\
  -d "$(jq -c '{transferId, token: .senderToken}' <<<"$SESSION")"`,
    },
    {
      method: "GET",
      path: "/api/ice-servers",
      tag: "Live transfer",
      summary: "ICE servers for WebRTC",
      description: "STUN from `STUN_URLS`; TURN either static (`TURN_URLS`, `TURN_USERNAME`, " +
        "`TURN_CREDENTIAL`), short-lived HMAC credentials for coturn (`TURN_URLS` + " +
        "`TURN_SECRET`), or Cloudflare Calls TURN (`TURN_SERVICE_ID` + `TURN_SERVICE_TOKEN`). " +
        "TURN credentials are relay capacity, so with TURN configured the caller needs " +
        "`Authorization: Bearer` with the sender or receiver token of a live session (and its " +
        "`code`), or a user or guest token. A STUN-only list holds no secret and needs no token.",
      auth: "transfer_token",
      query: iceServersQuerySchema,
      headers: {
        Authorization: "`Bearer <senderToken or receiverToken>` (with `?code=`), or " +
          "`Bearer <user or guest token>`; needed only when TURN is configured.",
      },
      responses: {
        200: "`{iceServers: RTCIceServer[], ttlSeconds}`",
        400: "A transfer token without `code`",
        401: "TURN is configured and no valid token was sent",
        403: "Not this session's token",
        404: "No such session",
        410: "The session ended",
      },
      errors: [
        ...USER_ERRORS,
        "invalid_request",
        "invalid_transfer_token",
        "session_not_found",
        "session_expired",
        "session_closed",
        "rate_limited",
      ],
      guides: ["transfer", "deployment"],
      example: `${create}
curl -fsS "$BASE/api/ice-servers?code=$(jq -r .code <<<"$SESSION")" \\
  -H "Authorization: Bearer $(jq -r .senderToken <<<"$SESSION")"
# or as a user
curl -fsS "$BASE/api/ice-servers" -H "Authorization: Bearer $TOKEN"`,
    },
    {
      method: "GET",
      path: "/api/ws/file-share-session",
      tag: "Live transfer",
      summary: "Signaling socket of a transfer",
      transport: "websocket",
      description: "Each side connects with its role and token and exchanges WebRTC offer, " +
        "answer and ICE candidates. Store and forward: whatever one side sends while the other " +
        "is offline is kept and delivered in order when it (re)connects, on any isolate and " +
        "after a restart. The creator sends `offer` and `fallback-link`; the joiner `answer`.",
      auth: "transfer_token",
      query: signalingQuerySchema,
      notes: {
        code: "The session's code.",
        role: "`creator` (sender) or `joiner` (receiver).",
        token: "The token of that role.",
        since: "Resume after this cursor.",
      },
      frames: signalingClientFrames,
      serverFrames: {
        "offer-stored": "`{code}`: the offer is kept for the joiner",
        "answer-stored": "The answer is kept for the creator",
        offer: "`{offer, cursor}` from the creator",
        answer: "`{answer, cursor}` from the joiner",
        "ice-candidate": "`{candidate, cursor}` from the other side",
        "peer-joined": "The other side is connected",
        "peer-left": "The other side disconnected",
        ready: "The other side is ready",
        cancel: "`{reason}`: the session ended",
        "fallback-link": "`{url}`: the file was uploaded instead (link mode)",
        error: "`{code, message}`: e.g. `quota_exceeded` (this side stored " +
          "`TRANSFER_MAX_SIGNALS` messages or `TRANSFER_MAX_SIGNAL_BYTES`), `storage_full`",
        pong: "The answer to `ping`",
      },
      responses: {
        101: "Switching protocols",
        400: "Invalid query",
        403: "Wrong token for the role",
        404: "No such session",
        410: "Expired or closed",
        426: "Not a WebSocket request",
        429: "Too many open connections",
      },
      errors: [
        "invalid_request",
        "invalid_cursor",
        "session_not_found",
        "invalid_transfer_token",
        "session_expired",
        "session_closed",
        "upgrade_required",
        "rate_limited",
        "too_many_connections",
      ],
      guides: ["transfer", "protocol"],
      example: `${create}
CODE=$(jq -r .code <<<"$SESSION") SENDER=$(jq -r .senderToken <<<"$SESSION")
ws "/api/ws/file-share-session?code=$CODE&role=creator&token=$SENDER" \\
  '{"type":"offer","offer":{"type":"offer","sdp":"v=0"}}'`,
    },
  ];
}

function linkMode(): EndpointDoc[] {
  return [
    {
      method: "POST",
      path: "/api/upload",
      tag: "Link mode",
      summary: "Upload a file, get a link",
      description: "The body is the file, raw (name in `X-Filename`) or as multipart/form-data. " +
        "It is streamed into KV as it arrives: memory stays flat whatever the size. At most " +
        "`MAX_UPLOAD_BYTES` (100 MiB); the link lives `ttlSeconds` (default " +
        "`UPLOAD_TTL_SECONDS`, at most 24 h). The `deleteToken` is shown only here.",
      auth: "none",
      rawBody: {
        mediaTypes: ["application/octet-stream", "multipart/form-data"],
        description: "The file: raw bytes (any media type), or multipart with a `filename`.",
      },
      query: uploadQuerySchema,
      notes: {
        ttlSeconds: "Life of the link.",
        maxDownloads: "Downloads allowed in all (default: no limit).",
        encrypted: "The bytes are ciphertext made by the browser (same as `X-Encrypted: 1`).",
      },
      headers: {
        "X-Filename":
          "The file name of a raw upload (percent-encoded UTF-8); default `upload.bin`.",
        "X-Encrypted": "`1` when the browser encrypted the bytes.",
      },
      responses: {
        201: "`{id, name, size, type, sha256, encrypted, createdAt, expiresAt, maxDownloads, " +
          "downloadsLeft, url, downloadUrl, deleteToken}`",
        400: "Bad name, multipart or query, or a `Host` that links are not built for",
        413: "Too large",
        429: "Too many uploads from this address",
        503: "Interrupted; retry",
        507: "Upload storage full; retry later",
      },
      errors: [
        "invalid_request",
        "invalid_host",
        "invalid_filename",
        "invalid_multipart",
        "upload_aborted",
        "body_timeout",
        "file_too_large",
        "rate_limited",
        "upload_interrupted",
        "storage_full",
      ],
      guides: ["link_mode"],
      example:
        `echo 'hello, world' | curl -fsS -X POST "$BASE/api/upload?ttlSeconds=600&maxDownloads=3" \\
  -H 'X-Filename: hello.txt' -H 'Content-Type: text/plain' --data-binary @-
# or as a form upload
printf 'some notes' | curl -fsS -F 'file=@-;filename=notes.txt' "$BASE/api/upload"`,
    },
    {
      method: "GET",
      path: "/api/download/{id}",
      tag: "Link mode",
      summary: "Download a file",
      description: "Streams the bytes with `Content-Length`, `Content-Disposition`, `ETag` and " +
        "`Repr-Digest`. `Range` (one range) answers 206; `If-Range` with the ETag is honored. " +
        "Each full or partial GET counts as a download against `maxDownloads`.",
      auth: "none",
      params: fileParams,
      headers: { Range: "`bytes=start-end`", "If-Range": "The ETag the range is valid for" },
      responses: {
        200: "The file",
        206: "Part of the file",
        404: "No such file",
        410: "Expired, used up or deleted",
        416: "Range outside the file",
      },
      errors: ["not_found", "expired", "range_not_satisfiable", "rate_limited"],
      guides: ["link_mode"],
      example: `${upload()}
curl -fsS "$BASE/api/download/$ID"
curl -fsS -r 0-4 "$BASE/api/download/$ID"   # a range: "hello"`,
    },
    {
      method: "HEAD",
      path: "/api/download/{id}",
      tag: "Link mode",
      summary: "File headers without a download",
      description: "The headers of `GET`, no body; does not count as a download.",
      auth: "none",
      params: fileParams,
      responses: { 200: "Headers", 404: "No such file", 410: "Gone" },
      errors: ["not_found", "expired", "rate_limited"],
      guides: ["link_mode"],
      example: `${upload()}
curl -fsS -I "$BASE/api/download/$ID"`,
    },
    {
      method: "DELETE",
      path: "/api/download/{id}",
      tag: "Link mode",
      summary: "Delete a file",
      description: "Deletes the file at once with the delete token from the upload (in " +
        "`X-Delete-Token` or `Authorization: Bearer`). Later downloads answer 410.",
      auth: "delete_token",
      params: fileParams,
      responses: {
        200: "`{id, deleted: true}`",
        401: "No delete token",
        403: "Wrong delete token",
        404: "No such file",
        410: "Already gone",
      },
      errors: [
        "delete_token_required",
        "wrong_delete_token",
        "not_found",
        "expired",
        "rate_limited",
      ],
      guides: ["link_mode"],
      example: `${upload()}
curl -fsS -X DELETE "$BASE/api/download/$ID" -H "X-Delete-Token: $(jq -r .deleteToken <<<"$UPLOAD")"`,
    },
    {
      method: "GET",
      path: "/api/files/{id}",
      tag: "Link mode",
      summary: "File metadata",
      description: "What the download page shows, without counting a download: name, size, " +
        "type, sha256, expiry and downloads left. For an encrypted file, `encryptionHeader` " +
        "holds its first bytes (the encrypted header with the name).",
      auth: "none",
      params: fileParams,
      responses: {
        200: "`{id, name, size, type, sha256, encrypted, createdAt, expiresAt, maxDownloads, " +
          "downloadsLeft, url, downloadUrl, encryptionHeader?}`",
        400: "A `Host` that links are not built for",
        404: "No such file",
        410: "Gone",
      },
      errors: ["invalid_host", "not_found", "expired", "rate_limited"],
      guides: ["link_mode"],
      example: `${upload("?maxDownloads=5")}
curl -fsS "$BASE/api/files/$ID"`,
    },
  ];
}

const NOTIFICATION_DATA = {
  field: "data",
  discriminator: "type",
  description: "Each type's `data` is checked against its schema (objects are strict). Types " +
    "named in `NOTIFY_EXTRA_TYPES` take any JSON object.",
  schemas: NOTIFICATION_TYPES,
};

function notifications(): EndpointDoc[] {
  return [
    {
      method: "POST",
      path: "/api/notifications/publish",
      tag: "Notifications",
      summary: "Publish a notification",
      description: "Stores the notification for each user and sends it to every connected tab " +
        "and device. `data` is validated against the type's schema (see `GET " +
        "/api/notifications/types`). `requiresAck` re-sends it until a client acks; `id` makes " +
        "publishing idempotent per user.",
      auth: "api_key",
      body: notificationPublishSchema,
      variants: NOTIFICATION_DATA,
      notes: {
        userId: "One recipient.",
        userIds: "Several recipients (at most `NOTIFY_MAX_RECIPIENTS`).",
        type: "A registered type.",
        data: "The type's data (at most `NOTIFY_MAX_DATA_BYTES` of JSON).",
        requiresAck: "Re-send until acknowledged.",
        id: "Idempotency key.",
      },
      responses: {
        202: "`{ids, results: [{userId, id, duplicate, muted}]}`",
        400: "Invalid recipients, type or data",
        401: "No or wrong API key",
        413: "Data too large",
        429: "A recipient or this publisher is over its limit",
      },
      errors: [
        ...API_KEY_ERRORS,
        "missing_user",
        "invalid_user",
        "too_many_recipients",
        "unknown_type",
        "invalid_data",
        "data_too_large",
        "rate_limited",
        ...JSON_ERRORS,
      ],
      guides: ["notifications"],
      example:
        `curl -fsS -X POST "$BASE/api/notifications/publish" -H "Authorization: Bearer $KEY" \\
  ${JSON_HEADER} \\
  -d '{"userId":"ada","type":"success","data":{"message":"Build finished"},"requiresAck":true}'`,
    },
    {
      method: "POST",
      path: "/api/notify/{userId}",
      tag: "Notifications",
      summary: "Publish a one-line message (ntfy style)",
      description: "The text body is the message: a notification of the built-in `message` " +
        "type for the user. Optional headers `Title`, `Tags` (comma separated), `Priority` " +
        "(1-5 or min … max) and `Click` (a link) fill `title`, `tags`, `priority` and `link`.",
      auth: "api_key",
      rawBody: { mediaTypes: ["text/plain"], description: "The message text." },
      headers: {
        Title: "The title.",
        Tags: "Comma-separated tags.",
        Priority: "1-5 or min, low, default, high, urgent, max.",
        Click: "A link (http(s) or a path on this site).",
      },
      responses: {
        202: '`{id, userId, type: "message", data, muted}`',
        400: "Empty body, bad header or user id",
        401: "No or wrong API key",
        413: "Too large",
        429: "The user or this publisher is over its limit",
      },
      errors: [
        ...API_KEY_ERRORS,
        "missing_message",
        "invalid_priority",
        "invalid_user",
        "invalid_data",
        "data_too_large",
        "body_too_large",
        "rate_limited",
      ],
      guides: ["notifications"],
      example: `curl -fsS "$BASE/api/notify/ada" -H "Authorization: Bearer $KEY" \\
  -H "Title: nas01" -H "Tags: backup" -d "Backup done"`,
    },
    {
      method: "POST",
      path: "/api/notifications/demo",
      tag: "Notifications",
      summary: "Send yourself a notification",
      description: "For trying types from a browser without the API key: the only recipient is " +
        "the caller. Without `data`, the type's example data is used. At most 30 a minute.",
      auth: "user_token",
      body: notificationDemoSchema,
      variants: NOTIFICATION_DATA,
      responses: {
        202: "`{ids, results}`",
        400: "Unknown type or invalid data",
        401: "No or bad token",
        429: "Too many",
      },
      errors: [
        ...USER_ERRORS,
        "unknown_type",
        "invalid_data",
        "data_too_large",
        "rate_limited",
        ...JSON_ERRORS,
      ],
      guides: ["notifications"],
      example:
        `curl -fsS -X POST "$BASE/api/notifications/demo" -H "Authorization: Bearer $TOKEN" \\
  ${JSON_HEADER} -d '{"type":"file_uploaded"}'`,
    },
    {
      method: "GET",
      path: "/api/notifications/types",
      tag: "Notifications",
      summary: "List notification types",
      description: "Every registered type with example data that validates.",
      auth: "none",
      responses: { 200: "`{types: [{type, example}]}`" },
      errors: ["rate_limited"],
      guides: ["notifications"],
      example: `curl -fsS "$BASE/api/notifications/types" | jq -r '.types[].type'`,
    },
    {
      method: "GET",
      path: "/api/notifications/stream",
      tag: "Notifications",
      summary: "Follow a user's notifications (SSE)",
      transport: "sse",
      description: "Every notification of the token's user as it is published: `id:` is the " +
        "resume cursor, `event:` the type, `data:` the notification JSON. Unacked ones that " +
        "require an ack are delivered again on connect. Honors `Last-Event-ID` and `?since=`.",
      auth: "stream_token",
      query: streamQuerySchema,
      headers: { "Last-Event-ID": "The cursor to resume after (EventSource sets it)." },
      serverFrames: {
        "<type>": "`{id, type, timestamp, requiresAck, data, cursor}`",
        "notification.ready":
          "First event: the stream is live; without Last-Event-ID or since, its id is where it starts",
        "notification.read": "`{ids, all, unreadCount, cursor}`: read on some device",
        error: "`too_far_behind` / `epoch_changed` with the `cursor` the stream continues from",
      },
      responses: { 200: "An event stream", 400: "Bad cursor", 401: "No or bad token" },
      errors: [...STREAM_ERRORS, "invalid_cursor", "rate_limited"],
      guides: ["notifications", "protocol"],
      example: `${MINT_STREAM}
timeout 2 curl -fsSN "$BASE/api/notifications/stream?token=$STREAM" || test $? -eq 124`,
    },
    {
      method: "GET",
      path: "/api/ws/notifications",
      tag: "Notifications",
      summary: "Follow a user's notifications (WebSocket)",
      transport: "websocket",
      description: "The same notifications as the SSE stream, plus acks and read marks from the " +
        "client. A notification with `requiresAck` is re-sent every `NOTIFY_RETRY_INTERVAL_MS` " +
        "up to `NOTIFY_MAX_RETRIES` times until acked, then marked `failed`.",
      auth: "stream_token",
      query: streamQuerySchema,
      frames: notificationClientFrames,
      serverFrames: {
        "<type>": "`{id, type, timestamp, requiresAck, data, cursor}`",
        "notification.ready":
          "First frame: the stream is live; without since, its cursor is where it starts",
        "notification.read": "`{ids, all, unreadCount, cursor}`",
        "notification.acked": "`{notificationId, acknowledgedAt}`: the answer to `ack`",
        error: "`{code, message}`",
        pong: "The answer to `ping`",
      },
      responses: {
        101: "Switching protocols",
        400: "Bad cursor",
        401: "No or bad token",
        426: "Not a WebSocket request",
      },
      errors: [...STREAM_ERRORS, "invalid_cursor", "upgrade_required", "rate_limited"],
      guides: ["notifications", "protocol"],
      example: `${MINT_STREAM}
ws "/api/ws/notifications?token=$STREAM" '{"type":"ping"}'`,
    },
    {
      method: "GET",
      path: "/api/notifications",
      tag: "Notifications",
      summary: "Notification history",
      description: "The user's notifications, newest first, with read state; page with " +
        "`before=<nextBefore>`.",
      auth: "user_token",
      query: notificationHistoryQuerySchema,
      notes: {
        before: "The `nextBefore` of the previous page.",
        limit: "Page size.",
        since: "Only newer ones: `10m`, `2h`, `all`, a time or a stream cursor.",
      },
      responses: {
        200: "`{notifications: [{id, type, timestamp, requiresAck, data, read, readAt, " +
          "acknowledged, muted}], nextBefore, unreadCount}`",
        400: "Invalid query or cursor",
        401: "No or bad token",
      },
      errors: [...USER_ERRORS, "invalid_request", "invalid_cursor", "rate_limited"],
      guides: ["notifications"],
      example: `curl -fsS "$BASE/api/notifications?limit=5" -H "Authorization: Bearer $TOKEN"`,
    },
    {
      method: "GET",
      path: "/api/notifications/unread-count",
      tag: "Notifications",
      summary: "Unread count",
      description: "How many of the user's notifications are unread.",
      auth: "user_token",
      responses: { 200: "`{unreadCount}`", 401: "No or bad token" },
      errors: [...USER_ERRORS, "rate_limited"],
      guides: ["notifications"],
      example: `curl -fsS "$BASE/api/notifications/unread-count" -H "Authorization: Bearer $TOKEN"`,
    },
    {
      method: "POST",
      path: "/api/notifications/read-all",
      tag: "Notifications",
      summary: "Mark all as read",
      description: "Marks every notification of the user read; every connected device gets " +
        "`notification.read`.",
      auth: "user_token",
      responses: { 200: "`{ids, unreadCount}`", 401: "No or bad token" },
      errors: [...USER_ERRORS, "rate_limited"],
      guides: ["notifications"],
      example:
        `curl -fsS -X POST "$BASE/api/notifications/read-all" -H "Authorization: Bearer $TOKEN"`,
    },
    {
      method: "POST",
      path: "/api/notifications/{id}/read",
      tag: "Notifications",
      summary: "Mark one as read",
      description: "Marks one notification read on every device of the user.",
      auth: "user_token",
      params: notificationParams,
      responses: {
        200: "`{id, read: true, unreadCount}`",
        401: "No or bad token",
        404: "Not this user's notification",
      },
      errors: [...USER_ERRORS, "notification_not_found", "rate_limited"],
      guides: ["notifications"],
      example: `ID=$(${publishTo("ada")} | jq -r '.ids[0]')
curl -fsS -X POST "$BASE/api/notifications/$ID/read" -H "Authorization: Bearer $TOKEN"`,
    },
    {
      method: "POST",
      path: "/api/notifications/{id}/ack",
      tag: "Notifications",
      summary: "Acknowledge one",
      description: "Acknowledges a notification over HTTP (the same as an `ack` frame): it is " +
        "not re-sent any more and the audit log records when.",
      auth: "user_token",
      params: notificationParams,
      responses: {
        200: "`{id, status, acknowledgedAt}`",
        401: "No or bad token",
        404: "Not this user's notification",
      },
      errors: [...USER_ERRORS, "notification_not_found", "rate_limited"],
      guides: ["notifications"],
      example: `ID=$(${publishTo("ada", ',"requiresAck":true')} | jq -r '.ids[0]')
curl -fsS -X POST "$BASE/api/notifications/$ID/ack" -H "Authorization: Bearer $TOKEN"`,
    },
    {
      method: "GET",
      path: "/api/notifications/preferences",
      tag: "Notifications",
      summary: "Read preferences",
      description: "The types and groups the user muted: muted notifications are stored in " +
        "history but not pushed.",
      auth: "user_token",
      responses: { 200: "`{muted, mutedGroups}`", 401: "No or bad token" },
      errors: [...USER_ERRORS, "rate_limited"],
      guides: ["notifications"],
      example: `curl -fsS "$BASE/api/notifications/preferences" -H "Authorization: Bearer $TOKEN"`,
    },
    {
      method: "PUT",
      path: "/api/notifications/preferences",
      tag: "Notifications",
      summary: "Set preferences",
      description: "Replaces the user's muted types and groups (`data.groupId`).",
      auth: "user_token",
      body: notificationPreferencesBodySchema,
      notes: { muted: "Types to mute.", mutedGroups: "Group ids to mute." },
      responses: { 200: "`{muted, mutedGroups}`", 400: "Invalid body", 401: "No or bad token" },
      errors: [...USER_ERRORS, "unknown_type", ...JSON_ERRORS, "rate_limited"],
      guides: ["notifications"],
      example:
        `curl -fsS -X PUT "$BASE/api/notifications/preferences" -H "Authorization: Bearer $TOKEN" \\
  ${JSON_HEADER} -d '{"muted":["campaign_created"],"mutedGroups":[]}'`,
    },
    {
      method: "GET",
      path: "/api/notifications/log",
      tag: "Notifications",
      summary: "Audit log",
      description: "Per notification: when it was sent, delivered and acknowledged, retries and " +
        "status, newest first; filter by user, type and status.",
      auth: "api_key",
      query: notificationLogQuerySchema,
      notes: { before: "The `nextBefore` of the previous page.", limit: "Page size." },
      responses: {
        200: "`{entries: [{id, userId, type, timestamp, requiresAck, status, sentAt, " +
          "deliveredAt, acknowledged, acknowledgedAt, retryCount, lastRetryAt, read, readAt}], " +
          "nextBefore}`",
        400: "Invalid query",
        401: "No or wrong API key",
      },
      errors: [...API_KEY_ERRORS, "invalid_request", "invalid_cursor"],
      guides: ["notifications"],
      example:
        `curl -fsS "$BASE/api/notifications/log?userId=ada&limit=5" -H "Authorization: Bearer $KEY"`,
    },
  ];
}

function chat(): EndpointDoc[] {
  return [
    {
      method: "GET",
      path: "/api/ws/channels/{channelId}",
      tag: "Chat",
      summary: "Join a channel (WebSocket)",
      transport: "websocket",
      description: "Needs `chat:read` (and `chat:write` to send). On connect: `initial_state` " +
        "with the last 50 messages (oldest first), who is online and a cursor. Messages are " +
        "stored before they are broadcast to everyone, the sender included; `clientMessageId` " +
        "makes a resend idempotent; `sync {afterMessageId}` returns exactly what was missed. " +
        "Past `CHANNEL_MAX_CONNECTIONS` the upgrade answers 503.",
      auth: "stream_token",
      params: channelParams,
      query: streamQuerySchema,
      frames: chatClientFrames,
      serverFrames: {
        initial_state: "`{messages, onlineUsers, cursor, historyBefore, you}`",
        message: "`{message: {id, channelId, userId, username, content, threadId, timestamp, " +
          "clientMessageId}, cursor}`",
        typing: "`{userId, username, isTyping}` to the others only (never stored)",
        presence: "`{userId, username, status}`",
        user_joined: "`{user}`",
        user_disconnected: "`{userId, username}`",
        sync: "`{afterMessageId, messages, hasMore}`",
        error: "`{code, message}`: e.g. `no_write_permission`, `message_too_long`",
        pong: "The answer to `ping`",
      },
      responses: {
        101: "Switching protocols",
        400: "Bad channel name or cursor",
        401: "No or bad token",
        403: "No `chat:read`, or a private channel without a grant",
        426: "Not a WebSocket request",
        503: "Channel full",
      },
      errors: [
        ...STREAM_ERRORS,
        "invalid_channel",
        "invalid_cursor",
        "no_read_permission",
        "channel_forbidden",
        "channel_full",
        "upgrade_required",
        "rate_limited",
      ],
      guides: ["chat", "protocol"],
      example: `${MINT_STREAM}
ws "/api/ws/channels/docs-demo?token=$STREAM" \\
  '{"type":"message","content":"Hello from the API docs","clientMessageId":"docs-hello"}'`,
    },
    {
      method: "GET",
      path: "/api/channels/{channelId}/messages",
      tag: "Chat",
      summary: "Channel history",
      description: "A page of messages before `before` (a `nextBefore`/`historyBefore` cursor or " +
        "a message id), oldest first. Needs `chat:read`, and for a private channel a grant.",
      auth: "user_token",
      params: channelParams,
      query: historyQuerySchema,
      notes: {
        before: "A `nextBefore`/`historyBefore` cursor, or a message id.",
        limit: "Page size.",
      },
      responses: {
        200: "`{channelId, messages, nextBefore}`",
        400: "Bad channel name or cursor",
        401: "No or bad token",
        403: "No `chat:read`, or a private channel without a grant",
        404: "Unknown message id",
      },
      errors: [
        ...USER_ERRORS,
        "invalid_channel",
        "no_read_permission",
        "channel_forbidden",
        "invalid_request",
        "invalid_cursor",
        "unknown_message",
        "rate_limited",
      ],
      guides: ["chat"],
      example:
        `curl -fsS "$BASE/api/channels/docs-demo/messages?limit=20" -H "Authorization: Bearer $TOKEN"`,
    },
  ];
}

function admin(): EndpointDoc[] {
  return [
    {
      method: "GET",
      path: "/api/admin/snapshot",
      tag: "Admin",
      summary: "Operations snapshot",
      description: "Connections by kind and isolate, the busiest topics with head offset and " +
        "lag, transfer sessions by state, notification and rate-limit counters, and recent " +
        "problems of every isolate.",
      auth: "api_key",
      responses: {
        200: "`{at, isolates, connections, topics, transfers, notifications, rateLimited, " +
          "counters, problems}`",
        401: "No or wrong API key",
      },
      errors: API_KEY_ERRORS,
      guides: ["operations"],
      example:
        `curl -fsS "$BASE/api/admin/snapshot" -H "Authorization: Bearer $KEY" | jq '.connections'`,
    },
    {
      method: "POST",
      path: "/api/admin/stream-token",
      tag: "Admin",
      summary: "Mint an admin stream token",
      description: "A single-use stream token for the admin stream, so the API key never " +
        "travels in a URL.",
      auth: "api_key",
      responses: { 201: "`{token, expiresAt}`", 401: "No or wrong API key" },
      errors: API_KEY_ERRORS,
      guides: ["operations"],
      example: `curl -fsS -X POST "$BASE/api/admin/stream-token" -H "Authorization: Bearer $KEY"`,
    },
    {
      method: "GET",
      path: "/api/admin/stream",
      tag: "Admin",
      summary: "Live snapshots (SSE)",
      transport: "sse",
      description: "The snapshot as `event: snapshot` every 2 s. Needs an admin stream token.",
      auth: "stream_token",
      query: streamQuerySchema.pick({ token: true }),
      serverFrames: { snapshot: "The same JSON as `GET /api/admin/snapshot`" },
      responses: { 200: "An event stream", 401: "No or bad token", 403: "Not an admin token" },
      errors: [...STREAM_ERRORS, "forbidden", "rate_limited"],
      guides: ["operations"],
      example:
        `ADMIN=$(curl -fsS -X POST "$BASE/api/admin/stream-token" -H "Authorization: Bearer $KEY" | jq -r .token)
timeout 3 curl -fsSN "$BASE/api/admin/stream?token=$ADMIN" | cut -c1-120 || test $? -eq 124`,
    },
  ];
}

function operations(config: Config): EndpointDoc[] {
  return [
    {
      method: "GET",
      path: "/healthz",
      tag: "Operations",
      summary: "Health",
      description: "200 while the isolate can read KV, 503 when it cannot. `isolate` names the " +
        "isolate that answered.",
      auth: "none",
      responses: {
        200: '`{ok: true, kv: "ok", isolate}`',
        503: '`{ok: false, kv: "unreachable"}`',
      },
      errors: [],
      guides: ["operations", "deployment"],
      example: `curl -fsS "$BASE/healthz"`,
    },
    {
      method: "GET",
      path: "/readyz",
      tag: "Operations",
      summary: "Readiness",
      description: "200 while the isolate can read KV and is not draining; 503 once it got " +
        "SIGTERM/SIGINT (it is closing its sockets) or when KV does not answer. For load " +
        "balancers that should stop sending new connections.",
      auth: "none",
      responses: {
        200: '`{ready: true, kv: "ok", draining: false, isolate}`',
        503: "`{ready: false, kv, draining, isolate}`",
      },
      errors: [],
      guides: ["operations", "deployment"],
      example: `curl -fsS "$BASE/readyz"`,
    },
    {
      method: "GET",
      path: "/metrics",
      tag: "Operations",
      summary: "Prometheus metrics",
      description: "Prometheus text summed over every isolate that reported in the last 10 s: " +
        "open connections by kind, frames in and out, deliveries, acks, retries, transfer " +
        "sessions, uploads, rate-limit rejections; histograms of HTTP request duration and " +
        "publish→deliver latency; memory and event-loop delay per isolate. A scrape only reads KV. With `METRICS_TOKEN` " +
        "set it needs `Authorization: Bearer <METRICS_TOKEN>`; without it, anyone may scrape.",
      auth: config.METRICS_TOKEN ? "metrics_token" : "none",
      responses: {
        200: "`text/plain; version=0.0.4`",
        401: "`METRICS_TOKEN` set: no or bad token",
      },
      errors: ["missing_token", "invalid_token"],
      guides: ["operations"],
      example:
        `curl -fsS "$BASE/metrics" \${METRICS_TOKEN:+-H "Authorization: Bearer $METRICS_TOKEN"} |
  grep -E '^switchboard_(isolates|connections_open)'`,
    },
  ];
}

/**
 * Every endpoint, in page order. Limits that come from configuration (e.g. the
 * longest transfer TTL) are read from `config`, exactly as the routes do.
 */
export function apiCatalog(config: Config): EndpointDoc[] {
  return [
    ...identity(),
    ...topics(),
    ...transfer(config),
    ...linkMode(),
    ...notifications(),
    ...chat(),
    ...admin(),
    ...operations(config),
  ];
}
