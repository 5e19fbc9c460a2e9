/**
 * The wire shapes of notifications: what is stored on a user's topic and what
 * WebSocket and SSE clients receive. Browser-safe (no Deno, no zod), so islands
 * import it too.
 */
import { notificationMessage } from "./message_text.ts";

/** One notification as clients see it. */
export interface Notification {
  id: string;
  type: string;
  /** When it was published (ISO 8601). */
  timestamp: string;
  requiresAck: boolean;
  data: Record<string, unknown>;
  /**
   * Human-readable text rendered by the server from the type and data
   * (`notificationMessage`); events stored before it existed get it on the way out.
   */
  message?: string;
}

/** What the user topic `user:<userId>` carries. */
export type UserTopicPayload =
  /** `seq`: where the store keeps the notification (not sent to clients). */
  | { kind: "notification"; notification: Notification; seq?: string }
  /** Stored for history and idempotency, never sent: the user muted its type or group. */
  | { kind: "muted"; notification: Notification; seq?: string }
  | { kind: "retry"; notification: Notification; attempt: number; seq?: string }
  | { kind: "read"; ids: string[]; all: boolean; unreadCount: number };

/**
 * A notification frame: `{id, type, timestamp, requiresAck, data, cursor}`.
 * Re-sends carry `retry` (1, 2, …); notifications re-sent on connect because they
 * still wait for an ack carry `redelivered: true` and no cursor (they do not
 * come from the topic, so they do not move the resume position).
 */
export interface NotificationFrame extends Notification {
  message: string;
  cursor?: string;
  retry?: number;
  redelivered?: boolean;
}

/** Sent to every connection of the user when notifications were marked read. */
export interface ReadFrame {
  type: typeof READ_FRAME;
  ids: string[];
  /** True for "mark all read". */
  all: boolean;
  unreadCount: number;
  cursor?: string;
}

/** Control frame types; notification types never start with `notification.`. */
export const READ_FRAME = "notification.read";
/**
 * The first frame of every stream: the subscription is live from `cursor` on
 * (anything published after it reaches this connection). Names the isolate.
 */
export const READY_FRAME = "notification.ready";
/** The answer to an `ack` frame. */
export const ACKED_FRAME = "notification.acked";
/**
 * The SSE event name of notifications of type `error`: EventSource treats an
 * event named `error` as a connection failure, so that type gets this name.
 */
const ERROR_TYPE_EVENT = "notification.error";

/** The frame for a topic payload (null: not sent); `cursor` is the event's resume cursor. */
export function frameForPayload(
  payload: UserTopicPayload,
  cursor?: string,
): NotificationFrame | ReadFrame | null {
  const position = cursor === undefined ? {} : { cursor };
  switch (payload.kind) {
    case "muted":
      return null;
    case "notification":
      return { ...withMessage(payload.notification), ...position };
    case "retry":
      return { ...withMessage(payload.notification), ...position, retry: payload.attempt };
    case "read":
      return {
        type: READ_FRAME,
        ids: payload.ids,
        all: payload.all,
        unreadCount: payload.unreadCount,
        ...position,
      };
  }
}

/** The notification with its `message` (rendered now if it was stored without one). */
function withMessage(notification: Notification): Notification & { message: string } {
  return {
    ...notification,
    message: notification.message ?? notificationMessage(notification.type, notification.data),
  };
}

/** The SSE `event:` of a frame: the notification type, or the control frame's type. */
export function sseEventName(frame: { type: string }): string {
  return frame.type === "error" ? ERROR_TYPE_EVENT : frame.type;
}

/** True for a notification frame (not a control frame such as `notification.read` or `pong`). */
export function isNotificationFrame(frame: Record<string, unknown>): frame is NotificationFrame & {
  [key: string]: unknown;
} {
  return typeof frame.id === "string" && typeof frame.type === "string" &&
    typeof frame.timestamp === "string" && typeof frame.data === "object" && frame.data !== null;
}
