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

/**
 * `POST /api/tokens`, `POST /api/tokens/revoke`, `POST /api/auth/guest`,
 * `POST /api/notifications/stream-token`.
 */
export function identityRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  app.post("/api/tokens", async (c) => {
    requireApiKey(c, ctx);
    const body = await readJson(c, tokenRequestSchema);
    const refused = body.perms?.find((perm) => !isUserPermission(perm));
    if (refused) {
      throw new ApiError(
        400,
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
  app.post("/api/tokens/revoke", async (c) => {
    requireApiKey(c, ctx);
    const body = await readJson(c, revokeRequestSchema);
    const revoked = await ctx.tokens.revoke(body.userId);
    // New connections are refused by the KV entry alone; closing open ones is best effort.
    await announceRevocation(ctx.broker, revoked).catch((error) =>
      ctx.log.warn("revocation_announce_failed", { userId: body.userId, error })
    );
    return c.json({ userId: revoked.userId, notBefore: new Date(revoked.notBefore).toISOString() });
  });
  app.post("/api/auth/guest", async (c) => {
    if (ctx.config.SWITCHBOARD_GUESTS === "off") {
      throw new ApiError(403, "guests_disabled", "Guest access is turned off on this server");
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
  app.post("/api/notifications/stream-token", async (c) => {
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
