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
  channelTopic,
  type ChatClientFrame,
  chatClientFrames,
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
import {
  admitConnection,
  requireUpgrade,
  resolveResume,
  resumeRequest,
  socketLimits,
  transportObserver,
} from "./_realtime.ts";
import { renderChatPage } from "./chat_page.tsx";

/** Query of `GET /api/channels/:channelId/messages`. */
export const historyQuerySchema = z.object({
  /** A `nextBefore`/`historyBefore` cursor, or a message id. */
  before: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

function requireChannel(channelId: string): void {
  if (!isChannelId(channelId)) {
    throw new ApiError(
      400,
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
    403,
    "channel_forbidden",
    claims.kind === "guest"
      ? `#${channelId} is private: guests cannot open it`
      : `#${channelId} is private and this token has no grant for it`,
  );
}

function requireRead(claims: TokenClaims): void {
  if (!hasPermission(claims, "chat:read")) {
    throw new ApiError(
      403,
      "no_read_permission",
      "This token cannot read chat (it lacks chat:read)",
    );
  }
}

/**
 * Chat channels: the channel WebSocket, the history endpoint and the chat page.
 * All chat logic lives in `lib/chat`; this module authenticates, enforces the
 * per-channel connection limit and wires the transport to a `ChatSession`.
 */
export function chatRoutes(ctx: AppContext, chat: ChatService): Hono {
  const app = new Hono();
  const observer = transportObserver(ctx);
  const deliveries = ctx.metrics.series("switchboard_deliveries_total", { kind: "chat" });

  app.get("/api/ws/channels/:channelId", async (c) => {
    const channelId = c.req.param("channelId");
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
        503,
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

  app.get("/api/channels/:channelId/messages", async (c) => {
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
          404,
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
          400,
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
      throw new ApiError(404, "invalid_channel", "There is no such channel: names are lowercase");
    }
    if (isPrivateChannel(channelId, ctx.config.CHAT_PRIVATE_PREFIX)) {
      // The page chats as a guest, and guests never open private channels.
      throw new ApiError(
        403,
        "channel_forbidden",
        `#${channelId} is private: open it from an app that gives you a token with a grant`,
      );
    }
    return c.html(renderChatPage(ctx, channelId));
  });
  return app;
}
