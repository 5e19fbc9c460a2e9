import type { NotificationCenter, PublishOutcome } from "./center.ts";
import type { BuiltInNotificationType, NotificationData } from "./types.ts";

/** What the helpers send through: the isolate's center (`notifications.center` of its job services). */
export type NotificationSender = Pick<NotificationCenter, "publish">;

/** Options of the `notify*` helpers. */
export interface NotifyOptions {
  /** Re-send until a client acks (every `NOTIFY_RETRY_INTERVAL_MS`, `NOTIFY_MAX_RETRIES` times). */
  requiresAck?: boolean;
  /** Idempotency: the same id again for the same user stores and sends nothing new. */
  id?: string;
}

/**
 * Sends one notification to one user from server code (no HTTP, no API key).
 * Throws {@linkcode NotificationError} for an unknown type or bad data.
 *
 * @example
 * ```ts
 * import { KvBroker } from "../realtime/mod.ts";
 * import { NotificationCenter } from "./center.ts";
 *
 * const kv = await Deno.openKv(":memory:");
 * await using center = new NotificationCenter({ kv, broker: new KvBroker(kv), config: {} });
 * await notifyUser(center, "ada", "success", { message: "Your export is ready" });
 * ```
 */
export async function notifyUser(
  center: NotificationSender,
  userId: string,
  type: string,
  data: unknown,
  options: NotifyOptions = {},
): Promise<PublishOutcome> {
  const [outcome] = await center.publish({
    userIds: [userId],
    type,
    data,
    requiresAck: options.requiresAck,
    id: options.id,
  });
  return outcome!;
}

/** Sends one notification to several users; one outcome per distinct user. */
export function notifyUsers(
  center: NotificationSender,
  userIds: readonly string[],
  type: string,
  data: unknown,
  options: NotifyOptions = {},
): Promise<PublishOutcome[]> {
  return center.publish({
    userIds,
    type,
    data,
    requiresAck: options.requiresAck,
    id: options.id,
  });
}

/** A typed `notifyUser` for one built-in type. */
function typed<T extends BuiltInNotificationType>(type: T) {
  return (
    center: NotificationSender,
    userId: string,
    data: NotificationData<T>,
    options?: NotifyOptions,
  ): Promise<PublishOutcome> => notifyUser(center, userId, type, data, options);
}

/** Tells a user a file was uploaded (`file_uploaded`). */
export const notifyFileUploaded: (
  center: NotificationSender,
  userId: string,
  data: NotificationData<"file_uploaded">,
  options?: NotifyOptions,
) => Promise<PublishOutcome> = typed("file_uploaded");

/** Tells a user they were invited to a group (`group.invitation.received`). */
export const notifyGroupInvitation: (
  center: NotificationSender,
  userId: string,
  data: NotificationData<"group.invitation.received">,
  options?: NotifyOptions,
) => Promise<PublishOutcome> = typed("group.invitation.received");

/** Tells a user the shards of a file are ready (`shards_generated`). */
export const notifyShardsGenerated: (
  center: NotificationSender,
  userId: string,
  data: NotificationData<"shards_generated">,
  options?: NotifyOptions,
) => Promise<PublishOutcome> = typed("shards_generated");

/** Tells a user a campaign was created (`campaign_created`). */
export const notifyCampaignCreated: (
  center: NotificationSender,
  userId: string,
  data: NotificationData<"campaign_created">,
  options?: NotifyOptions,
) => Promise<PublishOutcome> = typed("campaign_created");

/** A `success` notification with a message (and optional title and link). */
export function notifySuccess(
  center: NotificationSender,
  userId: string,
  message: string,
  extra: { title?: string; link?: string } & NotifyOptions = {},
): Promise<PublishOutcome> {
  const { requiresAck, id, ...rest } = extra;
  return notifyUser(center, userId, "success", { message, ...rest }, { requiresAck, id });
}

/** An `error` notification with a message (and optional title, code and link). */
export function notifyError(
  center: NotificationSender,
  userId: string,
  message: string,
  extra: { title?: string; code?: string; link?: string } & NotifyOptions = {},
): Promise<PublishOutcome> {
  const { requiresAck, id, ...rest } = extra;
  return notifyUser(center, userId, "error", { message, ...rest }, { requiresAck, id });
}
