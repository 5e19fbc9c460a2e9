import { notificationCenter, type NotificationDeps, type PublishOutcome } from "./center.ts";
import type { BuiltInNotificationType, NotificationData } from "./types.ts";

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
 * import { MemoryBroker } from "../realtime/mod.ts";
 *
 * // An AppContext has all of these.
 * const deps = { kv: await Deno.openKv(":memory:"), broker: new MemoryBroker(), config: {} };
 * await notifyUser(deps, "ada", "success", { message: "Your export is ready" });
 * ```
 */
export async function notifyUser(
  deps: NotificationDeps,
  userId: string,
  type: string,
  data: unknown,
  options: NotifyOptions = {},
): Promise<PublishOutcome> {
  const [outcome] = await notificationCenter(deps).publish({
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
  deps: NotificationDeps,
  userIds: readonly string[],
  type: string,
  data: unknown,
  options: NotifyOptions = {},
): Promise<PublishOutcome[]> {
  return notificationCenter(deps).publish({
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
    deps: NotificationDeps,
    userId: string,
    data: NotificationData<T>,
    options?: NotifyOptions,
  ): Promise<PublishOutcome> => notifyUser(deps, userId, type, data, options);
}

/** Tells a user a file was uploaded (`file_uploaded`). */
export const notifyFileUploaded: (
  deps: NotificationDeps,
  userId: string,
  data: NotificationData<"file_uploaded">,
  options?: NotifyOptions,
) => Promise<PublishOutcome> = typed("file_uploaded");

/** Tells a user they were invited to a group (`group.invitation.received`). */
export const notifyGroupInvitation: (
  deps: NotificationDeps,
  userId: string,
  data: NotificationData<"group.invitation.received">,
  options?: NotifyOptions,
) => Promise<PublishOutcome> = typed("group.invitation.received");

/** Tells a user the shards of a file are ready (`shards_generated`). */
export const notifyShardsGenerated: (
  deps: NotificationDeps,
  userId: string,
  data: NotificationData<"shards_generated">,
  options?: NotifyOptions,
) => Promise<PublishOutcome> = typed("shards_generated");

/** Tells a user a campaign was created (`campaign_created`). */
export const notifyCampaignCreated: (
  deps: NotificationDeps,
  userId: string,
  data: NotificationData<"campaign_created">,
  options?: NotifyOptions,
) => Promise<PublishOutcome> = typed("campaign_created");

/** A `success` notification with a message (and optional title and link). */
export function notifySuccess(
  deps: NotificationDeps,
  userId: string,
  message: string,
  extra: { title?: string; link?: string } & NotifyOptions = {},
): Promise<PublishOutcome> {
  const { requiresAck, id, ...rest } = extra;
  return notifyUser(deps, userId, "success", { message, ...rest }, { requiresAck, id });
}

/** An `error` notification with a message (and optional title, code and link). */
export function notifyError(
  deps: NotificationDeps,
  userId: string,
  message: string,
  extra: { title?: string; code?: string; link?: string } & NotifyOptions = {},
): Promise<PublishOutcome> {
  const { requiresAck, id, ...rest } = extra;
  return notifyUser(deps, userId, "error", { message, ...rest }, { requiresAck, id });
}
