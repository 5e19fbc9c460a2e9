import { z } from "zod";
import { CHANNEL_ID_PATTERN, CLIENT_MESSAGE_ID_PATTERN, MESSAGE_ID_PATTERN } from "./protocol.ts";

const messageId = z.string().regex(MESSAGE_ID_PATTERN, "must be a message id (ULID)");
const clientMessageId = z.string().regex(
  CLIENT_MESSAGE_ID_PATTERN,
  "1-64 letters, digits, _ or -",
);

/** A stored message as read back from the topic (values from KV are checked, too). */
export const chatMessageSchema = z.object({
  id: messageId,
  channelId: z.string().regex(CHANNEL_ID_PATTERN),
  userId: z.string().min(1).max(128),
  username: z.string().max(64),
  content: z.string(),
  threadId: messageId.nullable(),
  timestamp: z.string(),
  clientMessageId: clientMessageId.nullable(),
});

/**
 * Frames a client may send on a channel socket (besides `ping`, which the
 * transport answers). Content is only type-checked here: its rules give their
 * own error codes (`empty_message`, `message_too_long`, `invalid_characters`).
 */
export const chatClientFrames = {
  message: z.object({
    type: z.literal("message"),
    content: z.string(),
    threadId: messageId.nullish(),
    clientMessageId: clientMessageId.nullish(),
  }).strict(),
  typing: z.object({ type: z.literal("typing"), isTyping: z.boolean() }).strict(),
  presence: z.object({ type: z.literal("presence"), status: z.enum(["online", "away"]) }).strict(),
  sync: z.object({ type: z.literal("sync"), afterMessageId: messageId }).strict(),
};

/** One validated client frame. */
export type ChatClientFrame = z.infer<(typeof chatClientFrames)[keyof typeof chatClientFrames]>;
