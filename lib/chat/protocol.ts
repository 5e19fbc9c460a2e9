/**
 * The chat protocol as data: limits, the message shape, server frames and the
 * content rules. Browser-safe (no zod, no Deno), so the chat island checks a
 * message with exactly the rules the server applies.
 */

/**
 * Channel ids: lowercase letters, digits, `_` and `-`, 1–64 characters, not
 * starting with `_`/`-`, after an optional namespace of the same kind ending in
 * `:` (1–32 characters), such as `private:` (see `access.ts`).
 */
export const CHANNEL_ID_PATTERN = /^(?:[a-z0-9][a-z0-9_-]{0,31}:)?[a-z0-9][a-z0-9_-]{0,63}$/;
/** Longest message, in characters (Unicode code points) after trimming. */
export const MAX_MESSAGE_LENGTH = 4000;
/** Messages in `initial_state`. */
export const INITIAL_MESSAGES = 50;
/** A typing indicator disappears this long after its last refresh. */
export const TYPING_TIMEOUT_MS = 5000;
/** How often a client repeats `typing {isTyping: true}` while the user keeps typing. */
export const TYPING_REFRESH_MS = 2000;
/** Ids of messages (ULIDs). */
export const MESSAGE_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** Client message ids: chosen by the client to make a resend idempotent. */
export const CLIENT_MESSAGE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** True for a valid channel id. */
export function isChannelId(channelId: string): boolean {
  return CHANNEL_ID_PATTERN.test(channelId);
}

/** One stored chat message, exactly as every client receives it. */
export interface ChatMessage {
  /** ULID, assigned by the server. */
  id: string;
  channelId: string;
  userId: string;
  username: string;
  content: string;
  /** The id of the message this one replies to, or null. */
  threadId: string | null;
  /** ISO 8601, when the server accepted it. */
  timestamp: string;
  /** The sender's own id for the message (idempotency), or null. */
  clientMessageId: string | null;
}

/** A user present in a channel (over all their connections). */
export interface OnlineUser {
  userId: string;
  username: string;
  status: "online" | "away";
  connections: number;
  /** When the user's earliest open connection joined the channel (ms since the epoch). */
  joinedAt: number;
}

/** Error codes of chat error frames and responses (besides the transport's). */
export type ChatErrorCode =
  | "empty_message"
  | "message_too_long"
  | "invalid_characters"
  | "no_write_permission"
  | "invalid_channel"
  | "unknown_message"
  | "storage_full";

/** Frames the server sends on a channel socket. */
export type ChatServerFrame =
  | {
    type: "initial_state";
    channelId: string;
    /** Oldest first; empty when the connection resumed with `?since=`. */
    messages: ChatMessage[];
    onlineUsers: OnlineUser[];
    /** Resume position after `messages`; absent when the connection resumed. */
    cursor?: string;
    /** Pass as `before` to the history endpoint for older messages; null when there are none. */
    historyBefore: string | null;
    resumed: boolean;
    you: { userId: string; username: string; canWrite: boolean };
    /** Which isolate serves the connection (diagnostics). */
    isolate?: string;
  }
  | { type: "message"; message: ChatMessage; cursor?: string; duplicate?: boolean }
  | { type: "typing"; userId: string; username: string; isTyping: boolean; expiresInMs: number }
  | { type: "presence"; userId: string; username: string; status: "online" | "away" }
  | { type: "user_joined"; user: OnlineUser }
  | { type: "user_disconnected"; userId: string; username: string }
  | { type: "sync"; afterMessageId: string; messages: ChatMessage[]; hasMore: boolean }
  | { type: "error"; code: string; message: string; clientMessageId?: string; cursor?: string }
  | { type: "pong" };

/** The outcome of {@linkcode checkContent}. */
export type ContentCheck =
  | { ok: true; content: string }
  | {
    ok: false;
    code: "empty_message" | "message_too_long" | "invalid_characters";
    message: string;
  };

// C0 and C1 control characters except tab (\u0009) and newline (\u000a).
const FORBIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/**
 * Applies the content rules: CRLF becomes LF, surrounding whitespace is trimmed,
 * the rest must be 1–4000 characters without control characters other than
 * newline and tab.
 *
 * @example
 * ```ts
 * checkContent("  hi\r\n"); // { ok: true, content: "hi" }
 * checkContent("   ");      // { ok: false, code: "empty_message", ... }
 * ```
 */
export function checkContent(raw: string): ContentCheck {
  const content = raw.replace(/\r\n/g, "\n").trim();
  if (content.length === 0) {
    return { ok: false, code: "empty_message", message: "The message is empty" };
  }
  // Count code points, not UTF-16 units, so an emoji counts as one character.
  let length = 0;
  for (const _ of content) {
    if (++length > MAX_MESSAGE_LENGTH) {
      return {
        ok: false,
        code: "message_too_long",
        message: `Messages are limited to ${MAX_MESSAGE_LENGTH} characters`,
      };
    }
  }
  if (FORBIDDEN.test(content)) {
    return {
      ok: false,
      code: "invalid_characters",
      message: "Messages cannot contain control characters (newline and tab are fine)",
    };
  }
  return { ok: true, content };
}
