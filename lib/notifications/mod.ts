/**
 * @module
 * Notifications on the realtime core: a registry of typed notifications (zod),
 * per-user records with read state, history and an audit log in KV, delivery on
 * the user topic `user:<userId>` to every connection of the user, acks, and
 * re-sends driven by one isolate with a KV lease that another isolate takes over.
 * A {@linkcode NotificationService} owns one isolate's center.
 *
 * @example
 * ```ts
 * import { NotificationCenter, notifyFileUploaded } from "./mod.ts";
 * import { KvBroker } from "../realtime/mod.ts";
 *
 * const kv = await Deno.openKv(":memory:");
 * await using center = new NotificationCenter({ kv, broker: new KvBroker(kv), config: {} });
 * await notifyFileUploaded(center, "ada", { fileId: "f1", fileName: "a.pdf", size: 1200 });
 * ```
 */
export {
  NotificationCenter,
  type NotificationCenterOptions,
  type NotificationDeps,
  type NotificationSettings,
  type PublishOutcome,
  type PublishRequest,
  type StreamOptions,
  userTopic,
} from "./center.ts";
export { NotificationError, type NotificationErrorCode } from "./errors.ts";
export { historyLowerBound } from "./history_since.ts";
export { formatSize, notificationMessage } from "./message_text.ts";
export { describeNotification, NOTIFICATION_EXAMPLES, safeLink } from "./examples.ts";
export { safeLinkTarget, STAND_IN_ORIGIN } from "./links.ts";
export {
  ACKED_FRAME,
  frameForPayload,
  isNotificationFrame,
  type Notification,
  type NotificationFrame,
  READ_FRAME,
  type ReadFrame,
  sseEventName,
  type UserTopicPayload,
} from "./frames.ts";
export {
  type NotificationSender,
  notifyCampaignCreated,
  notifyError,
  notifyFileUploaded,
  notifyGroupInvitation,
  type NotifyOptions,
  notifyShardsGenerated,
  notifySuccess,
  notifyUser,
  notifyUsers,
} from "./helpers.ts";
export {
  type AuditEntry,
  type HistoryItem,
  isMuted,
  NOTIFICATION_STATUSES,
  type NotificationRecord,
  notificationRecordSchema,
  type NotificationStatus,
  type Preferences,
  preferencesSchema,
  toAuditEntry,
  toHistoryItem,
  toNotification,
} from "./record.ts";
export { RetryDriver, type RetryDriverOptions } from "./retry.ts";
export { type NotificationCore, NotificationService } from "./service.ts";
export { NotificationStore, type NotificationStoreOptions, type RetryLease } from "./store.ts";
export {
  type BuiltInNotificationType,
  linkSchema,
  NOTIFICATION_TYPES,
  type NotificationData,
  NotificationTypes,
  type TypeCheck,
} from "./types.ts";
