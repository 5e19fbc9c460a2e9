/**
 * What a chat client shows, as a pure reducer over server frames and local
 * actions: messages in log order without duplicates, messages still being
 * sent, who is online and who is typing. Browser-safe; the chat island uses it.
 */
import type { ChatMessage, ChatServerFrame, OnlineUser } from "./protocol.ts";

/** A message the user sent that the server has not echoed yet. */
export interface PendingMessage {
  clientMessageId: string;
  content: string;
  threadId: string | null;
  status: "sending" | "failed";
  /** Why it failed (the server's error message). */
  error?: string;
}

/** Someone typing, until a refresh or `until` (ms since the epoch). */
export interface TypingUser {
  userId: string;
  username: string;
  until: number;
}

/** Everything the chat view renders. */
export interface RoomState {
  /** In the channel's order, oldest first. */
  messages: ChatMessage[];
  pending: PendingMessage[];
  online: OnlineUser[];
  typing: TypingUser[];
  /** Cursor for older history; null when everything is loaded. */
  historyBefore: string | null;
  you: { userId: string; username: string; canWrite: boolean } | null;
  /** The first `initial_state` arrived. */
  loaded: boolean;
}

/** Inputs of {@linkcode roomReducer}. */
export type RoomAction =
  | { type: "frame"; frame: ChatServerFrame; now: number }
  | { type: "queued"; pending: PendingMessage }
  | { type: "older"; messages: ChatMessage[]; nextBefore: string | null }
  | { type: "dismiss"; clientMessageId: string }
  | { type: "expire"; now: number }
  | { type: "reset" };

/** The state before anything arrived. */
export function initialRoomState(): RoomState {
  return {
    messages: [],
    pending: [],
    online: [],
    typing: [],
    historyBefore: null,
    you: null,
    loaded: false,
  };
}

function appendNew(existing: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  const ids = new Set(existing.map((message) => message.id));
  const added = incoming.filter((message) => !ids.has(message.id) && ids.add(message.id));
  return added.length ? [...existing, ...added] : existing;
}

/** Drops pending messages the server has stored (matched by the sender's clientMessageId). */
function settle(state: RoomState, messages: ChatMessage[]): PendingMessage[] {
  const you = state.you?.userId;
  const stored = new Set(
    messages.filter((message) => message.userId === you && message.clientMessageId)
      .map((message) => message.clientMessageId),
  );
  if (stored.size === 0) return state.pending;
  return state.pending.filter((pending) => !stored.has(pending.clientMessageId));
}

function withMessages(state: RoomState, messages: ChatMessage[]): RoomState {
  const authors = new Set(messages.map((message) => message.userId));
  return {
    ...state,
    messages: appendNew(state.messages, messages),
    pending: settle(state, messages),
    // A message ends its author's typing.
    typing: state.typing.filter((user) => !authors.has(user.userId)),
  };
}

function upsertOnline(online: OnlineUser[], user: OnlineUser): OnlineUser[] {
  const others = online.filter((candidate) => candidate.userId !== user.userId);
  return [...others, user].sort((a, b) => a.username.localeCompare(b.username));
}

function applyFrame(state: RoomState, frame: ChatServerFrame, now: number): RoomState {
  switch (frame.type) {
    case "initial_state": {
      const base: RoomState = {
        ...state,
        you: frame.you,
        online: frame.onlineUsers,
        loaded: true,
      };
      if (frame.resumed) return base;
      // A fresh (not resumed) connection: its snapshot replaces what was shown.
      return withMessages(
        { ...base, messages: [], historyBefore: frame.historyBefore },
        frame.messages,
      );
    }
    case "message":
      return withMessages(state, [frame.message]);
    case "sync":
      return withMessages(state, frame.messages);
    case "typing": {
      const others = state.typing.filter((user) => user.userId !== frame.userId);
      if (!frame.isTyping) return { ...state, typing: others };
      return {
        ...state,
        typing: [...others, {
          userId: frame.userId,
          username: frame.username,
          until: now + frame.expiresInMs,
        }],
      };
    }
    case "user_joined":
      return { ...state, online: upsertOnline(state.online, frame.user) };
    case "user_disconnected":
      return {
        ...state,
        online: state.online.filter((user) => user.userId !== frame.userId),
        typing: state.typing.filter((user) => user.userId !== frame.userId),
      };
    case "presence": {
      const user = state.online.find((candidate) => candidate.userId === frame.userId);
      if (!user) return state;
      return { ...state, online: upsertOnline(state.online, { ...user, status: frame.status }) };
    }
    case "error": {
      // A server fault is not the message's fault: it stays pending and goes again on reconnect.
      if (!frame.clientMessageId || frame.code === "internal_error") return state;
      return {
        ...state,
        pending: state.pending.map((pending) =>
          pending.clientMessageId === frame.clientMessageId
            ? { ...pending, status: "failed", error: frame.message }
            : pending
        ),
      };
    }
    default:
      return state;
  }
}

/** The next state after a frame or a local action. */
export function roomReducer(state: RoomState, action: RoomAction): RoomState {
  switch (action.type) {
    case "frame":
      return applyFrame(state, action.frame, action.now);
    case "queued":
      return { ...state, pending: [...state.pending, action.pending] };
    case "older": {
      const ids = new Set(state.messages.map((message) => message.id));
      const older = action.messages.filter((message) => !ids.has(message.id));
      return {
        ...state,
        messages: [...older, ...state.messages],
        historyBefore: action.nextBefore,
      };
    }
    case "dismiss":
      return {
        ...state,
        pending: state.pending.filter((pending) =>
          pending.clientMessageId !== action.clientMessageId
        ),
      };
    case "expire": {
      const typing = state.typing.filter((user) => user.until > action.now);
      return typing.length === state.typing.length ? state : { ...state, typing };
    }
    case "reset":
      return { ...initialRoomState(), pending: state.pending };
  }
}

/** "Ada is typing…", "Ada and Bob are typing…", "3 people are typing…", or "". */
export function typingLine(typing: TypingUser[]): string {
  const names = typing.map((user) => user.username);
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
