/**
 * Live transfer (docs/transfer.md): sessions with single-join codes, the signaling
 * WebSocket, and ICE servers. File bytes never pass through here.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppContext } from "../lib/context.ts";
import { ApiError } from "../lib/errors/mod.ts";
import { enforceRateLimit } from "../lib/rate_limit/mod.ts";
import { acceptWebSocket } from "../lib/transport/mod.ts";
import {
  announceEnded,
  fileListSchema,
  relayHandlers,
  signalingClientFrames,
  TransferError,
  type TransferService,
  transferTokenRole,
} from "../lib/transfer/mod.ts";
import { bearer, protocolToken, requireUser } from "./_auth.ts";
import { refuseAfterUpgrade } from "./_ws_refusal.ts";
import { clientAddress, publicOrigin, readJson, readQuery } from "./_http.ts";
import {
  admitConnection,
  openWithLease,
  requireUpgrade,
  resumePosition,
  socketLimits,
  transportObserver,
} from "./_realtime.ts";

/** The body of `POST /api/transfer/create`. */
export function createTransferSchema(maxTtlSeconds: number) {
  return z.object({
    files: fileListSchema.optional(),
    ttlSeconds: z.number().int().min(1).max(maxTtlSeconds).optional(),
  }).strict();
}

/** The body of `POST /api/transfer/join`. */
export const joinTransferSchema = z.object({ code: z.string().min(1).max(32) }).strict();

/** The body of `POST /api/transfer/close`. */
export const closeTransferSchema = z.object({
  transferId: z.string().min(1).max(64),
  token: z.string().min(1).max(256),
}).strict();

/** The query of `GET /api/ice-servers`. */
export const iceServersQuerySchema = z.object({
  code: z.string().min(1).max(32).optional().describe(
    "The session's code, when `Authorization: Bearer` carries its sender or receiver token.",
  ),
});

/** The query of `GET /api/ws/file-share-session`. */
export const signalingQuerySchema = z.object({
  code: z.string().min(1).max(32),
  role: z.enum(["creator", "joiner"]),
  /** Or the WebSocket subprotocol `token.<token>` (keeps it out of URLs and logs). */
  token: z.string().min(1).max(256).optional(),
  since: z.string().max(64).optional(),
});

function toApiError(error: unknown): unknown {
  return error instanceof TransferError
    ? new ApiError(error.status, error.code, error.message, { cause: error })
    : error;
}

/**
 * `POST /api/transfer/create|join|close`, `GET /api/ice-servers` and
 * `GET /api/ws/file-share-session`, over the transfer job's service.
 */
export function transferRoutes(ctx: AppContext, transfer: TransferService): Hono {
  const app = new Hono();
  const { config, metrics, broker } = ctx;
  const { store, keeper, ice } = transfer;
  const count = (event: string) =>
    metrics.increment("switchboard_transfer_sessions_total", { event });
  const observer = transportObserver(ctx);
  // One cached series per frame type: this runs for every relayed message.
  const relayedSeries = new Map<string, { add(amount?: number): void }>();
  const relayed = (type: string) => {
    let series = relayedSeries.get(type);
    if (!series) {
      series = metrics.series("switchboard_signaling_relayed_total", { type });
      relayedSeries.set(type, series);
    }
    return series;
  };
  const createSchema = createTransferSchema(config.TRANSFER_MAX_SECONDS);

  app.post("/api/transfer/create", async (c) => {
    // Sessions need no credential: each address opens a bounded number per hour.
    await enforceRateLimit(ctx.rateLimiter, "transfer_create", clientAddress(c), {
      limit: config.TRANSFERS_PER_HOUR,
      windowMs: 3600_000,
    });
    const body = await readJson(c, createSchema);
    // Checked before the session exists: its join link needs a trusted origin.
    const origin = publicOrigin(ctx, c);
    const created = await store.create({
      files: body.files ?? [],
      ttlSeconds: body.ttlSeconds ?? config.TRANSFER_TTL_SECONDS,
    }).catch((error) => {
      throw toApiError(error);
    });
    count("created");
    const { record } = created;
    return c.json({
      transferId: record.id,
      code: record.code,
      senderToken: created.senderToken,
      expiresAt: new Date(record.expiresAt).toISOString(),
      joinUrl: `${origin}/r/${record.code}`,
    }, 201);
  });

  app.post("/api/transfer/join", async (c) => {
    try {
      await enforceRateLimit(ctx.rateLimiter, "transfer_join", clientAddress(c), {
        limit: config.JOIN_ATTEMPTS_PER_MINUTE,
        windowMs: 60_000,
      });
    } catch (error) {
      if (error instanceof ApiError) {
        metrics.increment("switchboard_transfer_join_rejections_total", { reason: error.code });
      }
      throw error;
    }
    const body = await readJson(c, joinTransferSchema);
    try {
      const { record, receiverToken } = await store.join(body.code);
      count("joined");
      return c.json({
        transferId: record.id,
        receiverToken,
        expiresAt: new Date(record.expiresAt).toISOString(),
        files: record.files,
      });
    } catch (error) {
      if (error instanceof TransferError) {
        metrics.increment("switchboard_transfer_join_rejections_total", { reason: error.code });
      }
      throw toApiError(error);
    }
  });

  app.post("/api/transfer/close", async (c) => {
    const body = await readJson(c, closeTransferSchema);
    const closed = await store.close(body.transferId, body.token).catch((error) => {
      throw toApiError(error);
    });
    if (closed.changed) {
      count("closed");
      await announceEnded(broker, closed.record, {
        reason: `closed by the ${closed.role}`,
        by: closed.role,
      });
    }
    return c.json({ transferId: closed.record.id, code: closed.record.code, state: "closed" });
  });

  // TURN credentials let anyone relay traffic through our TURN server, so they go only to a
  // live transfer's sender or receiver, or to a user; a STUN-only list holds no secret.
  const requireIceAccess = async (c: Context): Promise<void> => {
    const query = readQuery(c, iceServersQuerySchema);
    const token = bearer(c);
    if (!token) {
      throw new ApiError(
        401,
        "missing_token",
        "TURN credentials need Authorization: Bearer with a transfer's sender or receiver " +
          "token (and ?code=) or a user or guest token",
      );
    }
    const role = transferTokenRole(token);
    if (!role) {
      await requireUser(c, ctx);
      return;
    }
    if (!query.code) {
      throw new ApiError(
        400,
        "invalid_request",
        "A transfer token needs ?code=<its session's code>",
      );
    }
    await store.authorize(query.code, role, token).catch((error) => {
      throw toApiError(error);
    });
  };

  app.get("/api/ice-servers", async (c) => {
    c.header("Cache-Control", "no-store");
    if (ice.source !== "none") await requireIceAccess(c);
    return c.json(await ice.get());
  });

  app.get(
    "/api/ws/file-share-session",
    refuseAfterUpgrade(async (c) => {
      requireUpgrade(c);
      const query = readQuery(c, signalingQuerySchema);
      const since = resumePosition(c);
      const token = query.token ?? protocolToken(c);
      if (!token || token.length > 256) {
        throw new ApiError(
          400,
          "invalid_request",
          "The transfer token is missing (?token= or subprotocol)",
        );
      }
      const record = await store.authorize(query.code, query.role, token).catch((error) => {
        throw toApiError(error);
      });
      // Per address, and at most 4 sockets per side of a session (a peer reconnecting
      // overlaps its old socket for a moment; more is someone else holding the token).
      const lease = admitConnection(c, ctx, {
        extra: [{ key: `transfer:${record.id}:${query.role}`, max: 4 }],
      });
      const handlers = relayHandlers({
        broker,
        presence: ctx.presence,
        store,
        keeper,
        quota: { events: config.TRANSFER_MAX_SIGNALS, bytes: config.TRANSFER_MAX_SIGNAL_BYTES },
        storage: ctx.storageBudget,
        isolate: ctx.isolate,
        onRelayed: (type) => relayed(type).add(),
        onClosed: () => count("closed"),
        onError: (error) => ctx.log.warn("signaling_error", { transferId: record.id, error }),
      }, { record, role: query.role, token, since });
      return openWithLease(lease, () =>
        acceptWebSocket(c.req.raw, {
          label: "signaling",
          frames: signalingClientFrames,
          ...socketLimits(ctx),
          observer,
          lease,
          ...handlers,
          onError: (error) =>
            ctx.log.warn("signaling_socket_error", { transferId: record.id, error }),
        }));
    }),
  );

  return app;
}
