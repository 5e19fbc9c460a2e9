/**
 * @module
 * Chat channels on the realtime core: messages stored on topic `channel:<id>`
 * before anyone sees them, presence in scope `channel:<id>`, typing as
 * ephemeral (never stored) messages, history paging and exact `sync`, and a
 * per-channel connection limit counted across isolates.
 *
 * @example
 * ```ts
 * import { ChatService } from "./mod.ts";
 * import { MemoryBroker } from "../realtime/mod.ts";
 * import { MemoryPresence } from "../presence/mod.ts";
 *
 * const broker = new MemoryBroker();
 * const chat = new ChatService({ broker, presence: new MemoryPresence(broker) });
 * await chat.send("lobby", { userId: "ada", username: "Ada" }, { content: "Hello" });
 * (await chat.latest("lobby")).messages[0]?.content; // "Hello"
 * ```
 */
export * from "./access.ts";
export * from "./protocol.ts";
export * from "./room_state.ts";
export { ChatError } from "./errors.ts";
export { type ChatClientFrame, chatClientFrames, chatMessageSchema } from "./schemas.ts";
export {
  channelTopic,
  findMessage,
  type HistoryPage,
  type LatestMessages,
  MESSAGE_SCAN_LIMIT,
  type MessagesAfter,
} from "./history.ts";
export { TypingTracker, type TypingTrackerOptions, type Typist } from "./typing.ts";
export { MemoryOccupancy, type Occupancy, type OccupancyLease } from "./occupancy.ts";
export { KvOccupancy, type KvOccupancyOptions } from "./kv_occupancy.ts";
export {
  channelScope,
  type ChatAuthor,
  type ChatCore,
  ChatService,
  type ChatServiceOptions,
  type MessageInput,
  type SentMessage,
  startChatService,
  type TypingSignal,
} from "./service.ts";
export { type ChatParticipant, ChatSession, type ChatSessionOptions } from "./session.ts";
