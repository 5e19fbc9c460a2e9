/**
 * @module
 * Web Push for notifications (RFC 8030 delivery, RFC 8291 `aes128gcm`, RFC 8292
 * VAPID): VAPID keys, browsers' subscriptions per user, the endpoint allowlist
 * that keeps the server from POSTing anywhere a browser says (SSRF), the
 * payload the service worker shows, and the service that pushes a notification
 * when no connection of the user got it in time.
 *
 * @example
 * ```ts
 * import { ensureVapidKeys, PushService } from "./mod.ts";
 * const kv = await Deno.openKv(":memory:");
 * const vapid = await ensureVapidKeys(kv, {});
 * await using push = new PushService(
 *   { kv, config: { PUSH_DELAY_SECONDS: 10, PUSH_ENDPOINT_HOSTS: [] } },
 *   vapid,
 *   { sweep: false },
 * );
 * push.published([{ userId: "ada", id: "n1", type: "success" }]);
 * ```
 */
export { KNOWN_PUSH_SERVICE_HOSTS, pushEndpointProblem } from "./endpoints.ts";
export { PushError, type PushErrorCode } from "./errors.ts";
export {
  MAX_PUSH_PAYLOAD_BYTES,
  type PushPayload,
  pushPayloadFor,
  type PushSource,
} from "./payload.ts";
export {
  type PushAttemptResult,
  type PushFetch,
  type PushMessageOptions,
  type PushOutcome,
  PushSender,
  type PushSenderOptions,
} from "./sender.ts";
export {
  type PublishedNotification,
  type PushAttempt,
  pushAttemptSchema,
  type PushJobSettings,
  PushService,
  type PushServiceDeps,
  type PushServiceOptions,
  type PushSettingsConfig,
  startPushService,
} from "./service.ts";
export {
  checkSubscriptionKeys,
  deviceId,
  MAX_DEVICES_PER_USER,
  PUSH_WHEN,
  type PushDevice,
  type PushDeviceView,
  pushDeviceViewSchema,
  type PushPreferencesView,
  pushPreferencesViewSchema,
  type PushSettings,
  pushSettingsSchema,
  type PushSubscriptionInput,
  pushSubscriptionSchema,
  PushSubscriptionStore,
  type PushUserState,
  type PushWhen,
  toDeviceView,
} from "./subscriptions.ts";
export {
  checkVapidPair,
  ensureVapidKeys,
  FALLBACK_VAPID_SUBJECT,
  generateVapidKeys,
  VapidKeyError,
  type VapidKeys,
} from "./vapid.ts";
export {
  type DevicePushState,
  devicePushState,
  disablePush,
  enablePush,
  type PushIdentity,
  PushSetupError,
  pushSupported,
  refreshPushAuth,
} from "./client.ts";
