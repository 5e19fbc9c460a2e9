/**
 * @module
 * Web Push endpoints: the VAPID public key, a user's push subscriptions
 * (several devices), and the push attempts in the audit log. Pushing itself
 * happens in lib/push, told by the notification center what each publish sent.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppContext } from "../lib/context.ts";
import type { Config } from "../lib/config/mod.ts";
import {
  pushAttemptSchema,
  pushDeviceViewSchema,
  type PushService,
  pushSubscriptionSchema,
} from "../lib/push/mod.ts";
import { requireApiKey, requireUser } from "./_auth.ts";
import { readJson, readQuery } from "./_http.ts";
import {
  API_KEY_ERRORS,
  type Endpoint,
  JSON_ERRORS,
  JSON_HEADER,
  serve,
  USER_ERRORS,
} from "./_endpoint.ts";

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

/** A browser's subscription on FCM, for the examples (never pushed to: nothing is published). */
const EXAMPLE_SUBSCRIPTION = JSON.stringify({
  endpoint: "https://fcm.googleapis.com/fcm/send/example-device",
  keys: {
    p256dh:
      "BEJG6cP7yTFeEkg4ZzPiFFjWIHdSFbRTQ__M6cJ7xqTq4fTTo5WJtq764JSYvfqMgDL7z__nyis5oSGRcuLmh14",
    auth: "7j3A7VSAXJ59PZUPnSmnrw",
  },
  label: "Example phone",
});

/** The answer of subscribing a device. */
const subscribedSchema = z.object({
  subscription: pushDeviceViewSchema,
  created: z.boolean().describe("False when this endpoint was subscribed already (refreshed)."),
});

/**
 * The Web Push endpoints: each one's contract, which the handlers below are
 * registered with and which `/docs` and `/docs/openapi.json` show.
 */
export function pushEndpoints(
  _config: Config,
): Record<"key" | "subscribe" | "unsubscribe" | "log", Endpoint> {
  return {
    key: {
      method: "GET",
      path: "/api/notifications/push-key",
      tag: "Notifications",
      summary: "Web Push key",
      description: "The server's VAPID public key (base64url), the `applicationServerKey` a " +
        "browser subscribes with (`pushManager.subscribe`).",
      auth: "none",
      responses: {
        200: {
          description: "`{publicKey}`",
          body: z.object({ publicKey: z.string().describe("The VAPID public key, base64url.") }),
        },
      },
      errors: ["rate_limited"],
      guides: ["notifications"],
      example: `curl -fsS "$BASE/api/notifications/push-key"`,
    },
    subscribe: {
      method: "POST",
      path: "/api/notifications/push-subscriptions",
      tag: "Notifications",
      summary: "Subscribe a device to Web Push",
      description: "Stores a browser's `PushSubscription.toJSON()` for the user (several " +
        "devices; the same endpoint again refreshes it). The endpoint must be https on a known " +
        "push service or a host in `PUSH_ENDPOINT_HOSTS`. Listed in the user's preferences.",
      auth: "user_token",
      body: pushSubscribeSchema,
      notes: { label: "A name for the device in the user's list (optional)." },
      responses: {
        200: {
          description: "`{subscription: {id, service, label, createdAt}, created: false}`",
          body: subscribedSchema,
        },
        201: { description: "`{subscription, created: true}`", body: subscribedSchema },
        400: "Invalid body, endpoint not allowed or bad keys",
        401: "No or bad token",
      },
      errors: [
        ...USER_ERRORS,
        "push_endpoint_not_allowed",
        "invalid_push_subscription",
        ...JSON_ERRORS,
        "rate_limited",
      ],
      guides: ["notifications"],
      example: `curl -fsS -X POST "$BASE/api/notifications/push-subscriptions" \\
  -H "Authorization: Bearer $TOKEN" ${JSON_HEADER} \\
  -d '${EXAMPLE_SUBSCRIPTION}'`,
    },
    unsubscribe: {
      method: "DELETE",
      path: "/api/notifications/push-subscriptions",
      tag: "Notifications",
      summary: "Unsubscribe a device",
      description: "Forgets one of the user's push subscriptions, by `endpoint` or by `id`.",
      auth: "user_token",
      body: pushUnsubscribeSchema,
      responses: {
        200: { description: "`{removed: true}`", body: z.object({ removed: z.literal(true) }) },
        400: "Invalid body",
        401: "No or bad token",
        404: "No such subscription",
      },
      errors: [...USER_ERRORS, "push_subscription_not_found", ...JSON_ERRORS, "rate_limited"],
      guides: ["notifications"],
      example: `curl -fsS -X POST "$BASE/api/notifications/push-subscriptions" \\
  -H "Authorization: Bearer $TOKEN" ${JSON_HEADER} -d '${EXAMPLE_SUBSCRIPTION}' >/dev/null
curl -fsS -X DELETE "$BASE/api/notifications/push-subscriptions" \\
  -H "Authorization: Bearer $TOKEN" ${JSON_HEADER} \\
  -d '{"endpoint":"https://fcm.googleapis.com/fcm/send/example-device"}'`,
    },
    log: {
      method: "GET",
      path: "/api/notifications/push-log",
      tag: "Notifications",
      summary: "Push attempts",
      description: "Every Web Push request for a user, newest first: device, push service " +
        "origin (never the endpoint), attempt, outcome (`sent`, `gone`, `retry`, `rejected`), " +
        "status and why it was pushed (`away` or `always`).",
      auth: "api_key",
      query: pushLogQuerySchema,
      notes: { notificationId: "Only this notification's attempts.", limit: "At most this many." },
      responses: {
        200: {
          description: "`{attempts: [{id, notificationId, userId, subscriptionId, service, " +
            "attempt, at, outcome, status, error, reason}]}`",
          body: z.object({ attempts: z.array(pushAttemptSchema) }),
        },
        400: "Invalid query",
        401: "No or wrong API key",
      },
      errors: [...API_KEY_ERRORS, "invalid_request"],
      guides: ["notifications"],
      example:
        `curl -fsS "$BASE/api/notifications/push-log?userId=ada" -H "Authorization: Bearer $KEY"`,
    },
  };
}

/** `/api/notifications/push-key`, `/api/notifications/push-subscriptions`, `/api/notifications/push-log`. */
export function pushRoutes(ctx: AppContext, push: PushService): Hono {
  const app = new Hono();
  const endpoints = pushEndpoints(ctx.config);

  serve(
    app,
    endpoints.key,
    (c) => c.json({ publicKey: push.publicKey }, 200, { "Cache-Control": "public, max-age=300" }),
  );

  // PushError is an ApiError: its code's status comes from the registry.
  serve(app, endpoints.subscribe, async (c) => {
    const claims = await requireUser(c, ctx);
    const body = await readJson(c, pushSubscribeSchema);
    const result = await push.subscribe(claims.sub, body);
    return c.json(result, result.created ? 201 : 200);
  });

  serve(app, endpoints.unsubscribe, async (c) => {
    const claims = await requireUser(c, ctx);
    const body = await readJson(c, pushUnsubscribeSchema);
    const which = body.endpoint !== undefined ? { endpoint: body.endpoint } : { id: body.id! };
    await push.unsubscribe(claims.sub, which);
    return c.json({ removed: true });
  });

  serve(app, endpoints.log, async (c) => {
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
