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
import type { Config } from "../lib/config/mod.ts";
import {
  type Endpoint,
  JSON_ERRORS,
  JSON_HEADER,
  serve,
  SOCKET_REFUSAL_NOTE,
  SOCKET_SWITCHING,
  strictQueryField,
  USER_ERRORS,
} from "./_endpoint.ts";

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
  strict: strictQueryField,
});

/** The answer of `POST /api/transfer/create`. */
const createdTransferSchema = z.object({
  transferId: z.string(),
  code: z.string().describe("The 6-character code the receiver joins with."),
  senderToken: z.string().describe("The sender's token: signaling, closing, ICE servers."),
  expiresAt: z.iso.datetime(),
  joinUrl: z.string().describe("The receive page of this code."),
});

/** The answer of `POST /api/transfer/join`. */
const joinedTransferSchema = z.object({
  transferId: z.string(),
  receiverToken: z.string().describe("The receiver's token: signaling, closing, ICE servers."),
  expiresAt: z.iso.datetime(),
  files: fileListSchema,
});

/** The answer of `GET /api/ice-servers` (an `RTCConfiguration.iceServers` list). */
const iceServerListSchema = z.object({
  iceServers: z.array(z.object({
    urls: z.union([z.string(), z.array(z.string())]),
    username: z.string().optional(),
    credential: z.string().optional(),
  })),
  ttlSeconds: z.number().int().describe("How long the list and its credentials may be used."),
});

/**
 * The transfer endpoints: each one's contract, which the handlers below are
 * registered with and which `/docs` and `/docs/openapi.json` show.
 */
export function transferEndpoints(
  config: Config,
): Record<"create" | "join" | "close" | "iceServers" | "signaling", Endpoint> {
  const create = `SESSION=$(curl -fsS -X POST "$BASE/api/transfer/create" ${JSON_HEADER} -d '{}')`;
  return {
    create: {
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
        201: {
          description: "`{transferId, code, senderToken, expiresAt, joinUrl}`",
          body: createdTransferSchema,
        },
        400: "Invalid body, or a `Host` that links are not built for",
        429: "Too many sessions from this address (`TRANSFERS_PER_HOUR`)",
        503: "No free code",
      },
      errors: [...JSON_ERRORS, "invalid_host", "code_space_exhausted", "rate_limited"],
      guides: ["transfer"],
      example: `curl -fsS -X POST "$BASE/api/transfer/create" ${JSON_HEADER} \\
  -d '{"files":[{"name":"photo.jpg","size":204800,"type":"image/jpeg"}]}'`,
    },
    join: {
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
        200: {
          description: "`{transferId, receiverToken, expiresAt, files}`",
          body: joinedTransferSchema,
        },
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
    close: {
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
        200: {
          description: '`{transferId, code, state: "closed"}`',
          body: z.object({ transferId: z.string(), code: z.string(), state: z.literal("closed") }),
        },
        403: "Wrong token",
        404: "No such session",
      },
      errors: ["session_not_found", "invalid_transfer_token", ...JSON_ERRORS, "rate_limited"],
      guides: ["transfer"],
      example: `${create}
curl -fsS -X POST "$BASE/api/transfer/close" ${JSON_HEADER} \\
  -d "$(jq -c '{transferId, token: .senderToken}' <<<"$SESSION")"`,
    },
    iceServers: {
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
        200: {
          description: "`{iceServers: RTCIceServer[], ttlSeconds}`",
          body: iceServerListSchema,
        },
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
    signaling: {
      method: "GET",
      path: "/api/ws/file-share-session",
      tag: "Live transfer",
      summary: "Signaling socket of a transfer",
      transport: "websocket",
      description: "Each side connects with its role and token and exchanges WebRTC offer, " +
        "answer and ICE candidates. Store and forward: whatever one side sends while the other " +
        "is offline is kept and delivered in order when it (re)connects, on any isolate and " +
        "after a restart. The creator sends `offer` and `fallback-link`; the joiner `answer`. " +
        "An unknown code is refused with `session_not_found` (close 4404), so a page can say " +
        '"Session not found".' + SOCKET_REFUSAL_NOTE,
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
        "pairing-key": "`{publicKey, withSecret?}`: the other side's ECDH public key (pairing)",
        "sealed-files": "`{box}`: the sender's file list, encrypted for the receiver",
        error: "`{code, message}`: e.g. `quota_exceeded` (this side stored " +
          "`TRANSFER_MAX_SIGNALS` messages or `TRANSFER_MAX_SIGNAL_BYTES`), `storage_full`",
        pong: "The answer to `ping`",
      },
      responses: {
        101: SOCKET_SWITCHING,
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
  };
}

/**
 * `POST /api/transfer/create|join|close`, `GET /api/ice-servers` and
 * `GET /api/ws/file-share-session`, over the transfer job's service.
 */
export function transferRoutes(ctx: AppContext, transfer: TransferService): Hono {
  const app = new Hono();
  const endpoints = transferEndpoints(ctx.config);
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

  serve(app, endpoints.create, async (c) => {
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

  // A refused join (rate limit or session state; not a bad body) is counted by its code.
  const rejectJoin = (error: unknown): never => {
    if (error instanceof ApiError) {
      metrics.increment("switchboard_transfer_join_rejections_total", { reason: error.code });
    }
    throw error;
  };

  serve(app, endpoints.join, async (c) => {
    await enforceRateLimit(ctx.rateLimiter, "transfer_join", clientAddress(c), {
      limit: config.JOIN_ATTEMPTS_PER_MINUTE,
      windowMs: 60_000,
    }).catch(rejectJoin);
    const body = await readJson(c, joinTransferSchema);
    const { record, receiverToken } = await store.join(body.code).catch(rejectJoin);
    count("joined");
    return c.json({
      transferId: record.id,
      receiverToken,
      expiresAt: new Date(record.expiresAt).toISOString(),
      files: record.files,
    });
  });

  serve(app, endpoints.close, async (c) => {
    const body = await readJson(c, closeTransferSchema);
    const closed = await store.close(body.transferId, body.token);
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
        "invalid_request",
        "A transfer token needs ?code=<its session's code>",
      );
    }
    await store.authorize(query.code, role, token);
  };

  serve(app, endpoints.iceServers, async (c) => {
    c.header("Cache-Control", "no-store");
    if (ice.source !== "none") await requireIceAccess(c);
    return c.json(await ice.get());
  });

  serve(
    app,
    endpoints.signaling,
    refuseAfterUpgrade(async (c) => {
      requireUpgrade(c);
      const query = readQuery(c, signalingQuerySchema);
      const since = resumePosition(c);
      const token = query.token ?? protocolToken(c);
      if (!token || token.length > 256) {
        throw new ApiError(
          "invalid_request",
          "The transfer token is missing (?token= or subprotocol)",
        );
      }
      const record = await store.authorize(query.code, query.role, token);
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
