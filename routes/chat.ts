import { Hono } from "hono";
import { z } from "zod";
import type { AppContext } from "../lib/context.ts";
import { ApiError } from "../lib/errors/mod.ts";
import { hasPermission, type TokenClaims } from "../lib/identity/mod.ts";
import { newId } from "../lib/ids/mod.ts";
import { parseCursor, type Position } from "../lib/realtime/mod.ts";
import { acceptWebSocket } from "../lib/transport/mod.ts";
import {
  canOpenChannel,
  CHANNEL_ID_PATTERN,
  channelTopic,
  type ChatClientFrame,
  chatClientFrames,
  chatMessageSchema,
  type ChatService,
  ChatSession,
  findMessage,
  isChannelId,
  isPrivateChannel,
  MESSAGE_ID_PATTERN,
  MESSAGE_SCAN_LIMIT,
} from "../lib/chat/mod.ts";
import { readStreamToken, requireUser } from "./_auth.ts";
import { readQuery } from "./_http.ts";
import { refuseAfterUpgrade } from "./_ws_refusal.ts";
import {
  admitConnection,
  requireUpgrade,
  resolveResume,
  resumeRequest,
  socketLimits,
  transportObserver,
} from "./_realtime.ts";
import { renderChatPage } from "./chat_page.tsx";
import type { Config } from "../lib/config/mod.ts";
import {
  type Endpoint,
  MINT_STREAM,
  serve,
  SOCKET_REFUSAL_NOTE,
  SOCKET_SWITCHING,
  socketQuerySchema,
  STREAM_ERRORS,
  USER_ERRORS,
} from "./_endpoint.ts";

/** Query of `GET /api/channels/:channelId/messages`. */
export const historyQuerySchema = z.object({
  /** A `nextBefore`/`historyBefore` cursor, or a message id. */
  before: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

function requireChannel(channelId: string): void {
  if (!isChannelId(channelId)) {
    throw new ApiError(
      "invalid_channel",
      `"${
        channelId.slice(0, 70)
      }" is not a channel name: use 1-64 lowercase letters, digits, _ or -, after an ` +
        "optional namespace such as private:",
    );
  }
}

/**
 * A private channel (see `lib/chat/access.ts`) opens only for a token with a
 * grant for it: 403 before anything about the channel is read or written, so a
 * refused client learns nothing of it (no presence entered, none listed).
 */
function requireChannelAccess(ctx: AppContext, claims: TokenClaims, channelId: string): void {
  if (canOpenChannel(claims, channelId, ctx.config.CHAT_PRIVATE_PREFIX)) return;
  throw new ApiError(
    "channel_forbidden",
    claims.kind === "guest"
      ? `#${channelId} is private: guests cannot open it`
      : `#${channelId} is private and this token has no grant for it`,
  );
}

function requireRead(claims: TokenClaims): void {
  if (!hasPermission(claims, "chat:read")) {
    throw new ApiError(
      "no_read_permission",
      "This token cannot read chat (it lacks chat:read)",
    );
  }
}

const channelParams = z.object({
  channelId: z.string().regex(CHANNEL_ID_PATTERN).describe("The channel, e.g. `lobby`."),
});

/**
 * The chat endpoints: each one's contract, which the handlers below are
 * registered with and which `/docs` and `/docs/openapi.json` show.
 */
export function chatEndpoints(_config: Config): Record<"socket" | "history", Endpoint> {
  return {
    socket: {
      method: "GET",
      path: "/api/ws/channels/{channelId}",
      tag: "Chat",
      summary: "Join a channel (WebSocket)",
      transport: "websocket",
      description: "Needs `chat:read` (and `chat:write` to send). On connect: `initial_state` " +
        "with the last 50 messages (oldest first), who is online and a cursor. Messages are " +
        "stored before they are broadcast to everyone, the sender included; `clientMessageId` " +
        "makes a resend idempotent; `sync {afterMessageId}` returns exactly what was missed. " +
        "Past `CHANNEL_MAX_CONNECTIONS` the connect is refused with `channel_full` (503). Also " +
        "served at `/channel/{channelId}/websocket` (the chat design's path), with the token in " +
        "`?token=`, `Authorization: Bearer` or the subprotocol." + SOCKET_REFUSAL_NOTE,
      auth: "stream_token",
      params: channelParams,
      query: socketQuerySchema,
      frames: chatClientFrames,
      serverFrames: {
        initial_state: "`{messages, onlineUsers, cursor, historyBefore, you}`",
        message: "`{message: {id, channelId, userId, username, content, threadId, timestamp, " +
          "clientMessageId}, cursor}`",
        typing: "`{userId, username, isTyping}` to the others only (never stored)",
        presence: "`{userId, username, status}`",
        user_joined: "`{user}` (`user.joinedAt`: ms since the epoch, as in `onlineUsers`)",
        user_disconnected: "`{userId, username}`",
        sync: "`{afterMessageId, messages, hasMore}`",
        error: "`{code, message}`: e.g. `no_write_permission`, `message_too_long`",
        pong: "The answer to `ping`",
      },
      responses: {
        101: SOCKET_SWITCHING,
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
    history: {
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
        200: {
          description: "`{channelId, messages, nextBefore}`",
          body: z.object({
            channelId: z.string(),
            messages: z.array(chatMessageSchema).describe("Oldest first."),
            nextBefore: z.string().nullable().describe(
              "The `before` of the next page; null at the start.",
            ),
          }),
        },
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
  };
}

/**
 * Chat channels: the channel WebSocket, the history endpoint and the chat page.
 * All chat logic lives in `lib/chat`; this module authenticates, enforces the
 * per-channel connection limit and wires the transport to a `ChatSession`.
 */
export function chatRoutes(ctx: AppContext, chat: ChatService): Hono {
  const app = new Hono();
  const endpoints = chatEndpoints(ctx.config);
  const observer = transportObserver(ctx);
  const deliveries = ctx.metrics.series("switchboard_deliveries_total", { kind: "chat" });

  // Also at `/channel/:channelId/websocket`, the path of the chat design's clients.
  const channelSocket = refuseAfterUpgrade(async (c) => {
    const channelId = c.req.param("channelId") ?? "";
    requireChannel(channelId);
    requireUpgrade(c);
    const resume = resumeRequest(c);
    const { claims, confirm } = await readStreamToken(c, ctx);
    requireRead(claims);
    requireChannelAccess(ctx, claims, channelId);
    // `since=10m` & co. cost a read of the channel's log; a cursor costs nothing.
    const since = await resolveResume(ctx.broker, channelTopic(channelId), resume);
    // One client cannot hold the channel (or the server's sockets), whatever it mints.
    const caps = admitConnection(c, ctx, {
      userId: claims.sub,
      extra: [{
        key: `user:${claims.sub}@channel:${channelId}`,
        max: ctx.config.CHANNEL_CONNECTIONS_PER_USER,
      }],
    });
    // The token's KV checks (single use, revocation), the place in the channel, what
    // initial_state needs and the presence entry, all at once: the token costs no round
    // trip of its own.
    const connectionId = newId();
    const [confirmed, reserved, prepared] = await Promise.allSettled([
      confirm(),
      chat.occupancy.reserve(channelId, ctx.config.CHANNEL_MAX_CONNECTIONS),
      chat.join(channelId, { userId: claims.sub, name: claims.name, connectionId }, {
        resume: since !== null,
      }),
    ]);
    const leaveAll = async () => {
      caps.release();
      if (reserved.status === "fulfilled") await reserved.value?.release();
      if (prepared.status === "fulfilled") await prepared.value.presence.leave();
    };
    if (
      confirmed.status === "rejected" || reserved.status === "rejected" ||
      prepared.status === "rejected"
    ) {
      await leaveAll();
      // The token's refusal first: a revoked client hears that, not that the channel is full.
      const failed = [confirmed, reserved, prepared].find((outcome) =>
        outcome.status === "rejected"
      );
      throw (failed as PromiseRejectedResult).reason;
    }
    const lease = reserved.value;
    const joined = prepared.value;
    if (!lease) {
      await leaveAll();
      ctx.metrics.increment("switchboard_chat_refused_total", { reason: "channel_full" });
      throw new ApiError(
        "channel_full",
        `#${channelId} has ${ctx.config.CHANNEL_MAX_CONNECTIONS} connections, its limit; try again later`,
        { headers: { "Retry-After": "5" } },
      );
    }
    let session: ChatSession | null = null;
    try {
      return acceptWebSocket<ChatClientFrame>(c.req.raw, {
        label: "chat",
        frames: chatClientFrames,
        ...socketLimits(ctx),
        observer,
        lease: caps,
        id: connectionId,
        onOpen: async (connection) => {
          ctx.userConnections.add(claims, connection);
          session = new ChatSession(chat, connection, {
            channelId,
            participant: {
              userId: claims.sub,
              username: claims.name,
              canWrite: hasPermission(claims, "chat:write"),
            },
            since,
            isolate: ctx.isolate,
            onDelivered: () => deliveries.add(),
            onError: (error, where) => ctx.log.warn("chat_stream_failed", { where, error }),
          });
          await session.open(joined);
        },
        onFrame: async (_connection, frame) => {
          await session?.handle(frame);
        },
        onClose: async () => {
          try {
            // Closed before it opened: the presence entered for it goes too.
            if (session) await session.close();
            else await joined.presence.leave();
          } finally {
            await lease.release();
          }
        },
        onError: (error) => ctx.log.warn("chat_socket_error", { channelId, error }),
      });
    } catch (error) {
      await leaveAll();
      throw error;
    }
  });
  serve(app, endpoints.socket, channelSocket);
  app.get("/channel/:channelId/websocket", channelSocket);

  serve(app, endpoints.history, async (c) => {
    const channelId = c.req.param("channelId");
    requireChannel(channelId);
    const claims = await requireUser(c, ctx);
    requireRead(claims);
    requireChannelAccess(ctx, claims, channelId);
    const query = readQuery(c, historyQuerySchema);
    let before: Position | null = null;
    if (query.before && MESSAGE_ID_PATTERN.test(query.before)) {
      const found = await findMessage(ctx.broker, channelId, query.before);
      if (!found) {
        throw new ApiError(
          "unknown_message",
          `No message "${query.before}" among the newest ${MESSAGE_SCAN_LIMIT} of #${channelId}; ` +
            "page back with nextBefore cursors instead",
        );
      }
      before = { offset: found.offset, epoch: found.epoch };
    } else if (query.before) {
      before = parseCursor(query.before);
      if (!before) {
        throw new ApiError(
          "invalid_cursor",
          `"${query.before}" is not a cursor or message id`,
        );
      }
    }
    const page = await chat.history(channelId, { before, limit: query.limit });
    return c.json({ channelId, messages: page.messages, nextBefore: page.nextBefore });
  });

  app.get("/chat/:channelId", (c) => {
    const channelId = c.req.param("channelId");
    if (!isChannelId(channelId)) {
      throw new ApiError("invalid_channel", "There is no such channel: names are lowercase", {
        status: 404,
      });
    }
    if (isPrivateChannel(channelId, ctx.config.CHAT_PRIVATE_PREFIX)) {
      // The page chats as a guest, and guests never open private channels.
      throw new ApiError(
        "channel_forbidden",
        `#${channelId} is private: open it from an app that gives you a token with a grant`,
      );
    }
    return c.html(renderChatPage(ctx, channelId));
  });
  return app;
}
