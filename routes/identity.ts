import { Hono } from "hono";
import { newId } from "../lib/ids/mod.ts";
import { z } from "zod";
import type { AppContext } from "../lib/context.ts";
import { ApiError } from "../lib/errors/mod.ts";
import {
  announceRevocation,
  DEFAULT_PERMISSIONS,
  issueToken,
  isUserPermission,
  PERMISSIONS,
  TOKEN_MAX_SECONDS,
} from "../lib/identity/mod.ts";
import { isChannelGrant, MAX_CHANNEL_GRANTS } from "../lib/chat/mod.ts";
import { requireApiKey, requireUser } from "./_auth.ts";
import { readJson } from "./_http.ts";
import type { Config } from "../lib/config/mod.ts";
import {
  API_KEY_ERRORS,
  type Endpoint,
  issuedTokenSchema,
  JSON_ERRORS,
  JSON_HEADER,
  serve,
  USER_ERRORS,
} from "./_endpoint.ts";

const userIdSchema = z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, "1-64 letters, digits, _ . @ -");
const nameSchema = z.string().trim().min(1).max(64).refine(
  (name) => !/[\u0000-\u001f\u007f]/.test(name),
  "must not contain control characters",
);

/** Schemas of the identity endpoints (also used for the API reference). */
export const tokenRequestSchema = z.object({
  userId: userIdSchema,
  name: nameSchema.optional(),
  perms: z.array(z.enum(PERMISSIONS)).max(PERMISSIONS.length).optional(),
  ttlSeconds: z.number().int().min(60).max(TOKEN_MAX_SECONDS).optional(),
  /** Private chat channels the token opens: exact names or prefixes ending in `*`. */
  channels: z.array(
    z.string().max(97).refine(
      isChannelGrant,
      "a channel name (e.g. private:team) or a prefix ending in * (e.g. private:team-*)",
    ),
  ).max(MAX_CHANNEL_GRANTS).optional(),
}).strict();
export const guestRequestSchema = z.object({ name: nameSchema }).strict();
/** The body of `POST /api/tokens/revoke`: any user id, guests' (`guest_…`) too. */
export const revokeRequestSchema = z.object({ userId: userIdSchema }).strict();

/** The answer of `POST /api/tokens/revoke`. */
const revokedSchema = z.object({
  userId: z.string(),
  notBefore: z.iso.datetime().describe("Tokens of this user issued before this are refused."),
});

/** The answer of `POST /api/auth/guest`. */
const guestTokenSchema = issuedTokenSchema.extend({
  userId: z.string().describe("`guest_<ulid>`."),
  name: z.string(),
});

/**
 * The identity endpoints: each one's contract, which the handlers below are
 * registered with and which `/docs` and `/docs/openapi.json` show.
 */
export function identityEndpoints(
  _config: Config,
): Record<"mintToken" | "revokeTokens" | "guestToken" | "streamToken", Endpoint> {
  return {
    mintToken: {
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
        201: { description: "`{token, expiresAt}`", body: issuedTokenSchema },
        400: "Invalid body, or a permission a user token cannot carry",
        401: "No or wrong API key",
      },
      errors: [...API_KEY_ERRORS, ...JSON_ERRORS, "permission_not_grantable"],
      example:
        `curl -fsS -X POST "$BASE/api/tokens" -H "Authorization: Bearer $KEY" ${JSON_HEADER} \\
  -d '{"userId":"grace","name":"Grace","perms":["chat:read"],"ttlSeconds":600,"channels":["private:team-*"]}'`,
    },
    revokeTokens: {
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
      responses: {
        200: { description: "`{userId, notBefore}`", body: revokedSchema },
        400: "Invalid body",
        401: "No or wrong API key",
      },
      errors: [...API_KEY_ERRORS, ...JSON_ERRORS],
      example: `OLD=$(curl -fsS -X POST "$BASE/api/tokens" -H "Authorization: Bearer $KEY" \\
  ${JSON_HEADER} -d '{"userId":"mallory"}' | jq -r .token)
curl -fsS -X POST "$BASE/api/tokens/revoke" -H "Authorization: Bearer $KEY" ${JSON_HEADER} \\
  -d '{"userId":"mallory"}'
# the older token is refused now: 401 token_revoked, so curl -f fails
! curl -fsS "$BASE/api/notifications" -H "Authorization: Bearer $OLD"`,
    },
    guestToken: {
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
        201: { description: "`{token, expiresAt, userId, name}`", body: guestTokenSchema },
        400: "Invalid body",
        403: "Guests are turned off",
      },
      errors: ["guests_disabled", ...JSON_ERRORS, "rate_limited"],
      example: `curl -fsS -X POST "$BASE/api/auth/guest" ${JSON_HEADER} -d '{"name":"Grace"}'`,
    },
    streamToken: {
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
      responses: {
        201: { description: "`{token, expiresAt}`", body: issuedTokenSchema },
        401: "No or bad user token",
      },
      errors: [...USER_ERRORS, "rate_limited"],
      guides: ["protocol"],
      example:
        `curl -fsS -X POST "$BASE/api/notifications/stream-token" -H "Authorization: Bearer $TOKEN"`,
    },
  };
}

/**
 * `POST /api/tokens`, `POST /api/tokens/revoke`, `POST /api/auth/guest`,
 * `POST /api/notifications/stream-token`.
 */
export function identityRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  const endpoints = identityEndpoints(ctx.config);
  serve(app, endpoints.mintToken, async (c) => {
    requireApiKey(c, ctx);
    const body = await readJson(c, tokenRequestSchema);
    const refused = body.perms?.find((perm) => !isUserPermission(perm));
    if (refused) {
      throw new ApiError(
        "permission_not_grantable",
        `A user token cannot carry "${refused}": administration needs the API key itself`,
      );
    }
    const issued = await issueToken(ctx.secrets.secret, {
      userId: body.userId,
      name: body.name,
      perms: body.perms,
      ttlSeconds: body.ttlSeconds,
      channels: body.channels,
    });
    return c.json(issued, 201);
  });
  serve(app, endpoints.revokeTokens, async (c) => {
    requireApiKey(c, ctx);
    const body = await readJson(c, revokeRequestSchema);
    const revoked = await ctx.tokens.revoke(body.userId);
    // New connections are refused by the KV entry alone; closing open ones is best effort.
    await announceRevocation(ctx.broker, revoked).catch((error) =>
      ctx.log.warn("revocation_announce_failed", { userId: body.userId, error })
    );
    return c.json({ userId: revoked.userId, notBefore: new Date(revoked.notBefore).toISOString() });
  });
  serve(app, endpoints.guestToken, async (c) => {
    if (ctx.config.SWITCHBOARD_GUESTS === "off") {
      throw new ApiError("guests_disabled", "Guest access is turned off on this server");
    }
    const body = await readJson(c, guestRequestSchema);
    const userId = `guest_${newId().toLowerCase()}`;
    const issued = await issueToken(ctx.secrets.secret, {
      userId,
      name: body.name,
      perms: DEFAULT_PERMISSIONS,
      kind: "guest",
      ttlSeconds: 7 * 86400,
    });
    return c.json({ ...issued, userId, name: body.name }, 201);
  });
  serve(app, endpoints.streamToken, async (c) => {
    const claims = await requireUser(c, ctx);
    const issued = await issueToken(ctx.secrets.secret, {
      userId: claims.sub,
      name: claims.name,
      // Only what a user token may carry: a token minted with `admin` before that was refused
      // must not open the admin stream.
      perms: claims.perms.filter(isUserPermission),
      // The user token's channel grants go along (a guest has none).
      channels: claims.kind === "guest" ? undefined : claims.channels,
      kind: "stream",
    });
    return c.json(issued, 201);
  });
  return app;
}
