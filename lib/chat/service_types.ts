/** The values `ChatService` takes and gives: its options, messages, typing, joins. */
import type { Clock } from "../clock/mod.ts";
import type { Broker, Position } from "../realtime/mod.ts";
import type { Presence, PresenceHandle } from "../presence/mod.ts";
import type { StorageGate } from "../storage_budget/mod.ts";
import type { LatestMessages } from "./history.ts";
import type { Occupancy } from "./occupancy.ts";
import type { ChatMessage, OnlineUser } from "./protocol.ts";

/** Who sends. */
export interface ChatAuthor {
  userId: string;
  username: string;
}

/** What a client sends as a message. */
export interface MessageInput {
  content: string;
  threadId?: string | null | undefined;
  clientMessageId?: string | null | undefined;
}

/** A stored message, its resume cursor, and whether it had been stored before (a resend). */
export interface SentMessage {
  message: ChatMessage;
  cursor: string;
  duplicate: boolean;
}

/** The ephemeral message typing goes out as, on the channel's topic. */
export interface TypingSignal {
  type: "typing";
  userId: string;
  username: string;
  isTyping: boolean;
}

/** A connection that joined a channel: what its `initial_state` needs, and its presence. */
export interface Joined {
  state: JoinState;
  presence: PresenceHandle;
}

/** What a connection needs before its `initial_state`, read in one round trip. */
export interface JoinState {
  /** Where the channel's presence topic is: presence events after it follow. */
  presenceStart: Position | null;
  /** Who was online (read while this connection entered: it may be listed or not yet). */
  onlineUsers: OnlineUser[];
  /** The connections counted in `onlineUsers`. */
  connectionIds: Set<string>;
  /** The newest messages and where the stream continues; null for a resuming connection. */
  latest: LatestMessages | null;
}

/** Options of `ChatService`. */
export interface ChatServiceOptions {
  broker: Broker;
  presence: Presence;
  /** Called once per newly stored message (metrics). */
  onMessage?(message: ChatMessage): void;
  /** Called when a background step fails (typing announcements). */
  onError?(error: unknown, where: string): void;
  /** The chat storage budget: a message that does not fit is refused with `storage_full`. */
  storage?: StorageGate | undefined;
  /** Typing refreshes announced at most this often per user (default 1500 ms). */
  typingThrottleMs?: number;
  /** Typing stops without a refresh after this long (default 5000 ms). */
  typingTimeoutMs?: number;
  /** Places taken in channels, for their connection limit (default: this process's count only). */
  occupancy?: Occupancy;
  /** Times typing's throttle and expiry (default: the system clock). */
  clock?: Clock;
}
