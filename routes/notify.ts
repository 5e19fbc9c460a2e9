import { Hono } from "hono";
import type { AppContext } from "../lib/context.ts";
import { ApiError } from "../lib/errors/mod.ts";
import type { NotificationService } from "../lib/notifications/mod.ts";
import { OneLineError, oneLineMessage } from "../lib/notifications/one_line.ts";
import { enforceRateLimit } from "../lib/rate_limit/mod.ts";
import { requireApiKey } from "./_auth.ts";
import { bodyLimit, clientAddress } from "./_http.ts";
import { toApiError } from "./notifications.ts";

/**
 * One-line publish (docs/notifications.md, "One-line publish"): `POST
 * /api/notify/:userId` with the API key and a text body, ntfy style
 * (`curl -d "Backup done"`), becomes a notification of the built-in `message`
 * type; `Title`, `Tags`, `Priority` and `Click` headers fill its other fields.
 */
export function notifyRoutes(ctx: AppContext, notifications: NotificationService): Hono {
  const app = new Hono();
  const { center } = notifications;
  const config = ctx.config;

  app.post("/api/notify/:userId", bodyLimit(config.NOTIFY_MAX_DATA_BYTES), async (c) => {
    requireApiKey(c, ctx);
    let data;
    try {
      data = oneLineMessage(await c.req.text(), c.req.raw.headers);
    } catch (error) {
      if (error instanceof OneLineError) throw new ApiError(400, error.code, error.message);
      throw error;
    }
    const request = { userIds: [c.req.param("userId")], type: "message", data };
    try {
      center.validate(request);
    } catch (error) {
      throw toApiError(error);
    }
    await enforceRateLimit(ctx.rateLimiter, "notify_publisher", clientAddress(c), {
      limit: config.NOTIFY_PUBLISHER_PER_MINUTE,
      windowMs: 60_000,
    });
    const [outcome] = await center.publish(request).catch((error) => {
      throw toApiError(error);
    });
    if (outcome!.rateLimited) {
      const retryAfter = outcome!.rateLimited.retryAfterSeconds;
      throw new ApiError(
        429,
        "rate_limited",
        `User "${outcome!.userId}" already got ${config.NOTIFY_USER_PER_MINUTE} notifications ` +
          `this minute; try again in ${retryAfter} s`,
        { headers: { "Retry-After": String(retryAfter) } },
      );
    }
    const { id, userId, muted } = outcome!;
    return c.json({ id, userId, type: "message", data, muted }, 202);
  });

  return app;
}
