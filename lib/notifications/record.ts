import { z } from "zod";
import type { Notification } from "./frames.ts";
import { notificationMessage } from "./message_text.ts";

/**
 * Where a notification is in its life:
 * - `pending`: stored, not yet written to any connection of the user;
 * - `delivered`: written to at least one connection (for `requiresAck`, waiting for the ack);
 * - `acknowledged`: a client acked it;
 * - `failed`: `requiresAck` and every re-send went unacked;
 * - `muted`: the user muted its type (or group): kept in history, never pushed.
 */
export const NOTIFICATION_STATUSES = [
  "pending",
  "delivered",
  "acknowledged",
  "failed",
  "muted",
] as const;

/** One status. */
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

const isoTime = z.string().max(40);

/** The stored record of one notification of one user (validated when read back from KV). */
export const notificationRecordSchema = z.object({
  id: z.string().min(1).max(128),
  userId: z.string().min(1).max(128),
  type: z.string().min(1).max(100),
  data: z.record(z.string(), z.unknown()),
  timestamp: isoTime,
  requiresAck: z.boolean(),
  read: z.boolean(),
  readAt: isoTime.nullable(),
  status: z.enum(NOTIFICATION_STATUSES),
  sentAt: isoTime.nullable(),
  deliveredAt: isoTime.nullable(),
  acknowledged: z.boolean(),
  acknowledgedAt: isoTime.nullable(),
  retryCount: z.number().int().min(0),
  lastRetryAt: isoTime.nullable(),
  /** Orders history (a ULID); keys of the indexes. */
  seq: z.string().min(1).max(40),
  /** When the retry driver acts next (ms since the epoch), or null when it is done. */
  nextRetryAt: z.number().nullable(),
});

/** The stored record of one notification of one user. */
export type NotificationRecord = z.infer<typeof notificationRecordSchema>;

/** The notification inside a record, as clients receive it. */
export function toNotification(record: NotificationRecord): Notification & { message: string } {
  return {
    id: record.id,
    type: record.type,
    timestamp: record.timestamp,
    requiresAck: record.requiresAck,
    data: record.data,
    message: notificationMessage(record.type, record.data),
  };
}

/** One entry of `GET /api/notifications` (a user's history). */
export interface HistoryItem extends Notification {
  read: boolean;
  readAt: string | null;
  acknowledged: boolean;
  muted: boolean;
}

/** The history view of a record. */
export function toHistoryItem(record: NotificationRecord): HistoryItem {
  return {
    ...toNotification(record),
    read: record.read,
    readAt: record.readAt,
    acknowledged: record.acknowledged,
    muted: record.status === "muted",
  };
}

/** One entry of `GET /api/notifications/log` (the audit log). */
export interface AuditEntry {
  id: string;
  userId: string;
  type: string;
  timestamp: string;
  requiresAck: boolean;
  status: NotificationStatus;
  sentAt: string | null;
  deliveredAt: string | null;
  acknowledged: boolean;
  acknowledgedAt: string | null;
  retryCount: number;
  lastRetryAt: string | null;
  read: boolean;
  readAt: string | null;
  /** What was sent. */
  data: Record<string, unknown>;
  /** Its human-readable text. */
  message: string;
}

/** The audit view of a record. */
export function toAuditEntry(record: NotificationRecord): AuditEntry {
  return {
    id: record.id,
    userId: record.userId,
    type: record.type,
    timestamp: record.timestamp,
    requiresAck: record.requiresAck,
    status: record.status,
    sentAt: record.sentAt,
    deliveredAt: record.deliveredAt,
    acknowledged: record.acknowledged,
    acknowledgedAt: record.acknowledgedAt,
    retryCount: record.retryCount,
    lastRetryAt: record.lastRetryAt,
    read: record.read,
    readAt: record.readAt,
    data: record.data,
    message: notificationMessage(record.type, record.data),
  };
}

/** A user's notification preferences. */
export const preferencesSchema = z.object({
  /** Types stored in history but not pushed. */
  muted: z.array(z.string().max(100)).max(200),
  /** Group ids (`data.groupId`) whose notifications are stored but not pushed. */
  mutedGroups: z.array(z.string().max(128)).max(500).default([]),
});

/** A user's notification preferences. */
export type Preferences = z.infer<typeof preferencesSchema>;

/** True when the preferences mute a notification of `type` with `data`. */
export function isMuted(
  preferences: Preferences | null,
  type: string,
  data: Record<string, unknown>,
): boolean {
  if (!preferences) return false;
  if (preferences.muted.includes(type)) return true;
  const groupId = typeof data.groupId === "string" ? data.groupId : null;
  return groupId !== null && preferences.mutedGroups.includes(groupId);
}
