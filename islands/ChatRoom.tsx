import { useEffect, useLayoutEffect, useReducer, useRef, useState } from "preact/hooks";
import {
  apiFetch,
  type ClientStatus,
  forgetGuest,
  type GuestIdentity,
  guestIdentity,
  hasGuest,
  readGuest,
  RealtimeClient,
  tokenHolder,
} from "../lib/client/mod.ts";
import {
  type ChatMessage,
  type ChatServerFrame,
  checkContent,
  TYPING_REFRESH_MS,
} from "../lib/chat/protocol.ts";
import {
  initialRoomState,
  type PendingMessage,
  roomReducer,
  typingLine,
} from "../lib/chat/room_state.ts";

/** A token handed over by an embedding page (this tab only). */
const PASSED_TOKEN_KEY = "switchboard.chat.token";
/** The name the user picked last. */
const NAME_KEY = "switchboard.chat.name";

/** Who this page chats as: the browser's guest (every page's) or a passed token's holder. */
type Identity = GuestIdentity;

type Phase =
  | { kind: "loading" }
  | { kind: "name"; error?: string; busy?: boolean }
  | { kind: "chat"; identity: Identity };

/** The token an embedding page passed, while it has more than a minute left. */
function passedIdentity(): Identity | null {
  const token = globalThis.sessionStorage?.getItem(PASSED_TOKEN_KEY);
  const holder = token ? tokenHolder(token) : null;
  if (!token || !holder || Date.parse(holder.expiresAt) - Date.now() <= 60_000) return null;
  return { token, ...holder };
}

/** A new guest named `name`, for this page and every other. */
async function createGuest(name: string): Promise<Identity> {
  const identity = await guestIdentity({ name, fresh: true });
  globalThis.localStorage?.setItem(NAME_KEY, name);
  return identity;
}

function newClientMessageId(): string {
  return `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

function timeOf(timestamp: string): string {
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime())
    ? ""
    : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function initials(name: string): string {
  return name.trim().split(/\s+/).slice(0, 2).map((part) => [...part][0] ?? "").join("")
    .toUpperCase() || "?";
}

const STATUS_LABEL: Record<ClientStatus, string> = {
  idle: "Starting",
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};

function NameForm(
  props: { channelId: string; busy: boolean; error?: string; onSubmit(name: string): void },
) {
  const [name, setName] = useState("");
  useEffect(() => setName(globalThis.localStorage?.getItem(NAME_KEY) ?? ""), []);
  return (
    <form
      class="panel chat-join"
      onSubmit={(event) => {
        event.preventDefault();
        if (name.trim()) props.onSubmit(name.trim());
      }}
    >
      <h1>Join #{props.channelId}</h1>
      <p class="muted">
        Pick a name to chat as a guest. It is remembered in this browser; nothing else is asked.
      </p>
      <label for="chat-name">Your name</label>
      <input
        id="chat-name"
        name="name"
        maxLength={64}
        autoComplete="nickname"
        required
        value={name}
        onInput={(event) => setName((event.target as HTMLInputElement).value)}
      />
      {props.error && <p class="notice error" role="alert">{props.error}</p>}
      <p>
        <button type="submit" class="primary" disabled={props.busy || !name.trim()}>
          {props.busy ? "Joining…" : "Join chat"}
        </button>
      </p>
    </form>
  );
}

/** A message right after one of the same author (within 5 minutes) is shown without a header. */
function continues(previous: ChatMessage | undefined, message: ChatMessage): boolean {
  return previous !== undefined && previous.userId === message.userId && !message.threadId &&
    Date.parse(message.timestamp) - Date.parse(previous.timestamp) < 5 * 60_000;
}

function MessageItem(
  props: {
    message: ChatMessage;
    mine: boolean;
    continued: boolean;
    parent: ChatMessage | undefined;
    onReply(): void;
    canReply: boolean;
  },
) {
  const { message, mine, parent, continued } = props;
  const reply = props.canReply && (
    <button
      type="button"
      class="chat-reply-button"
      onClick={props.onReply}
      aria-label={`Reply to ${message.username}`}
    >
      Reply
    </button>
  );
  return (
    <li
      class={`chat-message${mine ? " mine" : ""}${continued ? " continued" : ""}`}
      data-testid="chat-message"
      data-message-id={message.id}
    >
      <span class="chat-avatar" aria-hidden="true">
        {continued ? "" : initials(message.username)}
      </span>
      <div class="chat-bubble">
        {continued
          ? <div class="chat-meta chat-meta-continued">{reply}</div>
          : (
            <div class="chat-meta">
              <strong class="chat-author">{message.username}</strong>
              <time
                dateTime={message.timestamp}
                title={new Date(message.timestamp).toLocaleString()}
              >
                {timeOf(message.timestamp)}
              </time>
              {reply}
            </div>
          )}
        {message.threadId && (
          <p class="chat-quote">
            ↪ {parent ? `${parent.username}: ${parent.content.split("\n")[0]}` : "a reply"}
          </p>
        )}
        {/* Text only: Preact escapes it; never HTML. */}
        <p class="chat-text" data-testid="chat-text">{message.content}</p>
      </div>
    </li>
  );
}

function PendingItem(props: { pending: PendingMessage; name: string; onDismiss(): void }) {
  const { pending } = props;
  return (
    <li
      class="chat-message mine pending"
      data-testid="chat-pending"
      data-client-message-id={pending.clientMessageId}
    >
      <span class="chat-avatar" aria-hidden="true">{initials(props.name)}</span>
      <div class="chat-bubble">
        <div class="chat-meta">
          <strong class="chat-author">{props.name}</strong>
          {pending.status === "sending" ? <span class="chat-sending">sending…</span> : (
            <>
              <span class="chat-failed">not sent: {pending.error}</span>
              <button type="button" class="chat-reply-button" onClick={props.onDismiss}>
                Dismiss
              </button>
            </>
          )}
        </div>
        <p class="chat-text">{pending.content}</p>
      </div>
    </li>
  );
}

function Room(
  props: { channelId: string; identity: Identity; onLeave(reason?: string): void },
) {
  const { channelId, identity } = props;
  const [state, dispatch] = useReducer(roomReducer, undefined, initialRoomState);
  const [status, setStatus] = useState<ClientStatus>("idle");
  const [draft, setDraft] = useState("");
  const [draftError, setDraftError] = useState<string | null>(null);
  const [replyTo, setReplyTo] = useState<ChatMessage | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderError, setOlderError] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const clientRef = useRef<RealtimeClient<ChatServerFrame & { [key: string]: unknown }> | null>(
    null,
  );
  const pendingRef = useRef(state.pending);
  pendingRef.current = state.pending;
  const listRef = useRef<HTMLOListElement>(null);
  const stickToBottom = useRef(true);
  const keepOffset = useRef<number | null>(null);
  const lastTypingSent = useRef(0);

  /**
   * Sends pending messages (all of them after each (re)connect, so nothing typed
   * offline is lost; a resend of one the server already has is stored once, by
   * its clientMessageId). While offline they wait for the next connection.
   */
  const sendPending = (only?: PendingMessage) => {
    const client = clientRef.current;
    if (!client || client.status !== "open" || globalThis.navigator?.onLine === false) return;
    for (const pending of only ? [only] : pendingRef.current) {
      if (pending.status !== "sending") continue;
      client.send({
        type: "message",
        content: pending.content,
        clientMessageId: pending.clientMessageId,
        ...(pending.threadId ? { threadId: pending.threadId } : {}),
      });
    }
  };

  useEffect(() => {
    const client = new RealtimeClient<ChatServerFrame & { [key: string]: unknown }>({
      url: (cursor) => {
        if (Date.parse(identity.expiresAt) - Date.now() < 30_000) {
          // The server would refuse it: ask for a name again instead of retrying forever.
          queueMicrotask(() => props.onLeave("Your guest session expired. Pick a name to go on."));
          throw new Error("token expired");
        }
        return `/api/ws/channels/${channelId}` +
          (cursor ? `?since=${encodeURIComponent(cursor)}` : "");
      },
      // Sent as the subprotocol `token.<token>`: a 7-day guest token in the URL would end
      // up in proxy logs and traces.
      token: () => identity.token,
      onFrame: (frame) => {
        if (
          frame.type === "error" &&
          (frame.code === "too_far_behind" || frame.code === "epoch_changed")
        ) {
          // The log moved on without us: start over from a fresh snapshot.
          setGeneration((value) => value + 1);
          return;
        }
        dispatch({ type: "frame", frame, now: Date.now() });
      },
      onStatus: (next) => {
        setStatus(next);
        if (next === "open") queueMicrotask(() => sendPending());
      },
      minDelayMs: 500,
      maxDelayMs: 10_000,
    });
    clientRef.current = client;
    dispatch({ type: "reset" });
    client.start();
    // Browsers keep a dead socket "open" for a while after the network drops:
    // reconnect on both edges, so the banner shows and queued messages go out.
    const reconnect = () => client.reconnectNow();
    const visibility = () => {
      if (client.status !== "open") return;
      client.send({ type: "presence", status: document.hidden ? "away" : "online" });
    };
    globalThis.addEventListener("online", reconnect);
    globalThis.addEventListener("offline", reconnect);
    document.addEventListener("visibilitychange", visibility);
    const expiry = setInterval(() => dispatch({ type: "expire", now: Date.now() }), 1000);
    const resize = () => {
      const list = listRef.current;
      if (list && stickToBottom.current) list.scrollTop = list.scrollHeight;
    };
    globalThis.addEventListener("resize", resize);
    return () => {
      globalThis.removeEventListener("online", reconnect);
      globalThis.removeEventListener("offline", reconnect);
      document.removeEventListener("visibilitychange", visibility);
      clearInterval(expiry);
      globalThis.removeEventListener("resize", resize);
      client.close();
      clientRef.current = null;
    };
  }, [channelId, identity.token, generation]);

  // Keep the view pinned to the newest message, or in place when older ones are added above.
  useLayoutEffect(() => {
    const list = listRef.current;
    if (!list) return;
    if (keepOffset.current !== null) {
      list.scrollTop = list.scrollHeight - keepOffset.current;
      keepOffset.current = null;
    } else if (stickToBottom.current) {
      list.scrollTop = list.scrollHeight;
    }
  }, [state.messages, state.pending]);

  const loadOlder = async () => {
    if (!state.historyBefore || loadingOlder) return;
    setLoadingOlder(true);
    setOlderError(null);
    try {
      const body = await apiFetch<{ messages: ChatMessage[]; nextBefore: string | null }>(
        `/api/channels/${channelId}/messages?before=${
          encodeURIComponent(state.historyBefore)
        }&limit=50`,
        { token: identity.token },
      );
      const list = listRef.current;
      keepOffset.current = list ? list.scrollHeight - list.scrollTop : null;
      dispatch({ type: "older", messages: body.messages, nextBefore: body.nextBefore });
    } catch (error) {
      setOlderError(`Could not load older messages: ${(error as Error).message}`);
    } finally {
      setLoadingOlder(false);
    }
  };

  const onScroll = () => {
    const list = listRef.current;
    if (!list) return;
    stickToBottom.current = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    if (list.scrollTop < 60) void loadOlder();
  };

  const sendTyping = (isTyping: boolean) => {
    const client = clientRef.current;
    if (!client || client.status !== "open" || !state.you?.canWrite) return;
    client.send({ type: "typing", isTyping });
  };

  const onDraft = (value: string) => {
    setDraft(value);
    setDraftError(null);
    const now = Date.now();
    if (value.trim() && now - lastTypingSent.current > TYPING_REFRESH_MS) {
      lastTypingSent.current = now;
      sendTyping(true);
    } else if (!value.trim() && lastTypingSent.current) {
      lastTypingSent.current = 0;
      sendTyping(false);
    }
  };

  const submit = () => {
    const check = checkContent(draft);
    if (!check.ok) {
      setDraftError(check.message);
      return;
    }
    const pending: PendingMessage = {
      clientMessageId: newClientMessageId(),
      content: check.content,
      threadId: replyTo?.id ?? null,
      status: "sending",
    };
    pendingRef.current = [...pendingRef.current, pending];
    dispatch({ type: "queued", pending });
    setDraft("");
    setReplyTo(null);
    lastTypingSent.current = 0;
    stickToBottom.current = true;
    sendPending(pending);
  };

  const canWrite = state.you?.canWrite ?? true;
  const byId = new Map(state.messages.map((message) => [message.id, message]));
  const banner = status === "reconnecting"
    ? "Reconnecting… Messages you send now are kept and go out once the connection is back."
    : status === "closed"
    ? "Disconnected. Reload the page to chat again."
    : null;
  const typing = typingLine(state.typing);

  return (
    <div class="chat-room" data-status={status}>
      <header class="chat-header">
        <div>
          <h1>#{channelId}</h1>
          <p class="muted">
            You are <strong>{identity.name}</strong>
            {!canWrite && " (read only)"} ·{" "}
            <button type="button" class="chat-link-button" onClick={() => props.onLeave()}>
              change name
            </button>
          </p>
        </div>
        <span
          class={`badge chat-status ${status}`}
          data-testid="connection-status"
          aria-live="polite"
        >
          {STATUS_LABEL[status]}
        </span>
      </header>
      {banner && (
        <div
          class={status === "closed" ? "notice error" : "notice warn"}
          role="status"
          data-testid="connection-banner"
        >
          {banner}
        </div>
      )}
      <div class="chat-layout">
        <section class="panel chat-main" aria-label={`Messages in #${channelId}`}>
          <ol class="chat-messages" ref={listRef} onScroll={onScroll} data-testid="chat-messages">
            <li class="chat-history-edge">
              {state.historyBefore
                ? (
                  <button type="button" onClick={() => void loadOlder()} disabled={loadingOlder}>
                    {loadingOlder ? "Loading…" : "Load older messages"}
                  </button>
                )
                : state.loaded
                ? <span class="muted">The beginning of #{channelId}</span>
                : <span class="muted">Loading messages…</span>}
              {olderError && <span class="notice error">{olderError}</span>}
            </li>
            {state.messages.map((message, index) => (
              <MessageItem
                key={message.id}
                message={message}
                continued={continues(state.messages[index - 1], message)}
                mine={message.userId === identity.userId}
                parent={message.threadId ? byId.get(message.threadId) : undefined}
                canReply={canWrite}
                onReply={() => setReplyTo(message)}
              />
            ))}
            {state.pending.map((pending) => (
              <PendingItem
                key={pending.clientMessageId}
                pending={pending}
                name={identity.name}
                onDismiss={() =>
                  dispatch({ type: "dismiss", clientMessageId: pending.clientMessageId })}
              />
            ))}
          </ol>
          <p class="chat-typing" data-testid="typing" aria-live="polite">{typing}</p>
          {canWrite
            ? (
              <form
                class="chat-composer"
                onSubmit={(event) => {
                  event.preventDefault();
                  submit();
                }}
              >
                {replyTo && (
                  <p class="chat-replying">
                    Replying to <strong>{replyTo.username}</strong>: {replyTo.content.slice(0, 80)}
                    {" "}
                    <button type="button" class="chat-link-button" onClick={() => setReplyTo(null)}>
                      cancel
                    </button>
                  </p>
                )}
                <label for="chat-draft" class="visually-hidden">Message</label>
                <textarea
                  id="chat-draft"
                  rows={2}
                  placeholder={`Message #${channelId}`}
                  value={draft}
                  onInput={(event) => onDraft((event.target as HTMLTextAreaElement).value)}
                  onKeyDown={(event) => {
                    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
                      event.preventDefault();
                      submit();
                    }
                  }}
                />
                <button type="submit" class="primary">Send</button>
                {draftError && (
                  <p class="notice error chat-draft-error" role="alert">{draftError}</p>
                )}
              </form>
            )
            : <p class="notice warn">You can read this channel but not write in it.</p>}
        </section>
        <aside class="panel chat-people" aria-label="Online">
          <h2>
            Online <span class="badge">{state.online.length}</span>
          </h2>
          <ul class="chat-online" data-testid="online-users">
            {state.online.map((user) => (
              <li key={user.userId} data-user-id={user.userId}>
                <span class={`chat-dot ${user.status}`} aria-hidden="true" />
                <span class="chat-online-name">{user.username}</span>
                {user.userId === identity.userId && <span class="muted">(you)</span>}
                {user.status === "away" && <span class="muted">away</span>}
              </li>
            ))}
          </ul>
        </aside>
      </div>
    </div>
  );
}

/**
 * The chat page's island: the browser's guest identity, the one every page
 * shares (or a token passed in sessionStorage), the message list with
 * infinite scroll back, the composer with a queue for messages typed while
 * offline, who is online and typing, and a banner while reconnecting. Message
 * text is rendered as text, always.
 */
export default function ChatRoom(props: { channelId: string }) {
  const [phase, setPhase] = useState<Phase>({ kind: "loading" });

  useEffect(() => {
    const identity = passedIdentity() ?? readGuest();
    if (identity) return setPhase({ kind: "chat", identity });
    if (!hasGuest()) return setPhase({ kind: "name" });
    // This browser's guest ran out: renew it, under its name.
    guestIdentity().then(
      (renewed) => setPhase({ kind: "chat", identity: renewed }),
      (error) => setPhase({ kind: "name", error: String(error.message) }),
    );
  }, []);

  if (phase.kind === "loading") {
    return <p class="panel muted chat-loading">Loading chat…</p>;
  }
  if (phase.kind === "name") {
    return (
      <NameForm
        channelId={props.channelId}
        busy={phase.busy ?? false}
        error={phase.error}
        onSubmit={(name) => {
          setPhase({ kind: "name", busy: true });
          createGuest(name).then(
            (identity) => setPhase({ kind: "chat", identity }),
            (error) => setPhase({ kind: "name", error: String(error.message) }),
          );
        }}
      />
    );
  }
  return (
    <Room
      key={phase.identity.token}
      channelId={props.channelId}
      identity={phase.identity}
      onLeave={(reason) => {
        forgetGuest();
        globalThis.sessionStorage?.removeItem(PASSED_TOKEN_KEY);
        setPhase(reason ? { kind: "name", error: reason } : { kind: "name" });
      }}
    />
  );
}
