/**
 * @module
 * Web Push endpoints: the VAPID public key, a user's push subscriptions
 * (several devices), and the push attempts in the audit log. Pushing itself
 * happens in lib/push, told by the notification center what each publish sent.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppContext } from "../lib/context.ts";
import { ApiError } from "../lib/errors/mod.ts";
import {
  PushError,
  type PushErrorCode,
  type PushService,
  pushSubscriptionSchema,
} from "../lib/push/mod.ts";
import { requireApiKey, requireUser } from "./_auth.ts";
import { readJson, readQuery } from "./_http.ts";

/** The body of `POST /api/notifications/push-subscriptions`: `PushSubscription.toJSON()`. */
export const pushSubscribeSchema = pushSubscriptionSchema;

/** The body of `DELETE /api/notifications/push-subscriptions`: the endpoint or the id. */
export const pushUnsubscribeSchema = z.object({
  endpoint: z.string().min(1).max(2048).optional(),
  id: z.string().min(1).max(64).optional(),
}).strict().refine(
  (body) => (body.endpoint === undefined) !== (body.id === undefined),
  "send either endpoint or id",
);

/** The query of `GET /api/notifications/push-log`. */
export const pushLogQuerySchema = z.object({
  userId: z.string().min(1).max(128),
  notificationId: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const STATUS_BY_CODE: Record<PushErrorCode, number> = {
  push_endpoint_not_allowed: 400,
  invalid_push_subscription: 400,
  push_subscription_not_found: 404,
};

async function translate<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof PushError) {
      throw new ApiError(STATUS_BY_CODE[error.code], error.code, error.message, { cause: error });
    }
    throw error;
  }
}

/** `/api/notifications/push-key`, `/api/notifications/push-subscriptions`, `/api/notifications/push-log`. */
export function pushRoutes(ctx: AppContext, push: PushService): Hono {
  const app = new Hono();

  app.get(
    "/api/notifications/push-key",
    (c) => c.json({ publicKey: push.publicKey }, 200, { "Cache-Control": "public, max-age=300" }),
  );

  app.post("/api/notifications/push-subscriptions", async (c) => {
    const claims = await requireUser(c, ctx);
    const body = await readJson(c, pushSubscribeSchema);
    const result = await translate(() => push.subscribe(claims.sub, body));
    return c.json(result, result.created ? 201 : 200);
  });

  app.delete("/api/notifications/push-subscriptions", async (c) => {
    const claims = await requireUser(c, ctx);
    const body = await readJson(c, pushUnsubscribeSchema);
    const which = body.endpoint !== undefined ? { endpoint: body.endpoint } : { id: body.id! };
    await translate(() => push.unsubscribe(claims.sub, which));
    return c.json({ removed: true });
  });

  app.get("/api/notifications/push-log", async (c) => {
    requireApiKey(c, ctx);
    const query = readQuery(c, pushLogQuerySchema);
    return c.json({
      attempts: await push.attempts(query.userId, {
        notificationId: query.notificationId,
        limit: query.limit,
      }),
    });
  });

  return app;
}
