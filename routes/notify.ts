import { Hono } from "hono";
import { z } from "zod";
import type { Config } from "../lib/config/mod.ts";
import type { AppContext } from "../lib/context.ts";
import { ApiError } from "../lib/errors/mod.ts";
import { NOTIFICATION_TYPES, type NotificationService } from "../lib/notifications/mod.ts";
import { OneLineError, oneLineMessage } from "../lib/notifications/one_line.ts";
import { enforceRateLimit } from "../lib/rate_limit/mod.ts";
import { requireApiKey } from "./_auth.ts";
import { API_KEY_ERRORS, type Endpoint, serve } from "./_endpoint.ts";
import { bodyLimit, clientAddress } from "./_http.ts";

const notifyParams = z.object({
  userId: z.string().min(1).max(128).describe("The recipient's user id."),
});

/** What a one-line publish answers. */
const notifiedSchema = z.object({
  id: z.string().describe("The notification id."),
  userId: z.string(),
  type: z.literal("message"),
  data: NOTIFICATION_TYPES.message.describe(
    "`message` from the body; `title`, `tags`, `priority`, `link` from the headers.",
  ),
  muted: z.boolean().describe("Stored in history but not pushed: the user muted `message`."),
});

/**
 * The one-line publish endpoint's contract, which the handler below is
 * registered with and which `/docs` and `/docs/openapi.json` show.
 */
export function notifyEndpoints(_config: Config): Record<"notify", Endpoint> {
  return {
    notify: {
      method: "POST",
      path: "/api/notify/{userId}",
      tag: "Notifications",
      summary: "Publish a one-line message (ntfy style)",
      description: "The text body is the message: a notification of the built-in `message` " +
        "type for the user, delivered (with its server-rendered `message` text) like any " +
        "other. Optional headers `Title`, `Tags` (comma separated), `Priority` (1-5 or min … " +
        "max) and `Click` (a link) fill `title`, `tags`, `priority` and `link`.",
      auth: "api_key",
      params: notifyParams,
      rawBody: { mediaTypes: ["text/plain"], description: "The message text." },
      headers: {
        Title: "The title.",
        Tags: "Comma-separated tags.",
        Priority: "1-5 or min, low, default, high, urgent, max.",
        Click: "A link (http(s) or a path on this site).",
      },
      responses: {
        202: { description: '`{id, userId, type: "message", data, muted}`', body: notifiedSchema },
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
  };
}

/**
 * One-line publish (docs/notifications.md, "One-line publish"): `POST
 * /api/notify/:userId` with the API key and a text body, ntfy style
 * (`curl -d "Backup done"`), becomes a notification of the built-in `message`
 * type; `Title`, `Tags`, `Priority` and `Click` headers fill its other fields.
 */
export function notifyRoutes(ctx: AppContext, notifications: NotificationService): Hono {
  const app = new Hono();
  const endpoints = notifyEndpoints(ctx.config);
  const { center } = notifications;
  const config = ctx.config;

  serve(app, endpoints.notify, bodyLimit(config.NOTIFY_MAX_DATA_BYTES), async (c) => {
    requireApiKey(c, ctx);
    let data;
    try {
      data = oneLineMessage(await c.req.text(), c.req.raw.headers);
    } catch (error) {
      if (error instanceof OneLineError) throw new ApiError(error.code, error.message);
      throw error;
    }
    const request = { userIds: [c.req.param("userId")], type: "message", data };
    center.validate(request);
    await enforceRateLimit(ctx.rateLimiter, "notify_publisher", clientAddress(c), {
      limit: config.NOTIFY_PUBLISHER_PER_MINUTE,
      windowMs: 60_000,
    });
    const [outcome] = await center.publish(request);
    if (outcome!.rateLimited) {
      const retryAfter = outcome!.rateLimited.retryAfterSeconds;
      throw new ApiError(
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
