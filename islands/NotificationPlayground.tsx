import { useEffect, useState } from "preact/hooks";
import { describeNotification, timeAgo } from "../lib/notifications/examples.ts";
import { type FeedState, NotificationFeed } from "../lib/notifications/feed.ts";
import { ApiClientError, apiFetch, type GuestIdentity, guestIdentity } from "../lib/client/mod.ts";
import NotificationBell from "./NotificationBell.tsx";

const API_KEY_STORAGE = "switchboard.notifications.apiKey";
const TRANSPORT_STORAGE = "switchboard.notifications.transport";

type Transport = "websocket" | "sse";
type Notice = { kind: "ok" | "error"; text: string } | null;

function pretty(value: unknown): string {
  return JSON.stringify(value ?? {}, null, 2);
}

function parseData(text: string): { ok: true; data: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, data: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: `The data is not valid JSON: ${(error as Error).message}` };
  }
}

function describeFailure(error: unknown): string {
  if (!(error instanceof ApiClientError)) return String(error);
  const count = error.issues.length;
  return count > 1 ? `${error.message} (${count} issues)` : error.message;
}

/**
 * The `/notifications` page: a guest identity, the bell, the history with read
 * state, a form to send yourself any type (no API key needed), publishing as a
 * backend with a pasted API key (kept in this tab's sessionStorage only), and
 * muted types.
 */
export default function NotificationPlayground(
  props: { types: string[]; examples: Record<string, Record<string, unknown>> },
) {
  const [identity, setIdentity] = useState<GuestIdentity | null>(null);
  const [identityError, setIdentityError] = useState<string | null>(null);
  const [transport, setTransport] = useState<Transport>("websocket");
  const [feed, setFeed] = useState<NotificationFeed | null>(null);
  const [state, setState] = useState<FeedState | null>(null);

  useEffect(() => {
    const stored = globalThis.localStorage?.getItem(TRANSPORT_STORAGE);
    if (stored === "sse") setTransport("sse");
    guestIdentity().then(setIdentity, (error) => setIdentityError(String(error.message)));
  }, []);

  useEffect(() => {
    if (!identity) return;
    const created = new NotificationFeed({
      token: () => identity.token,
      transport,
      types: props.types,
    });
    setFeed(created);
    const unsubscribe = created.subscribe(setState);
    created.start();
    return () => {
      unsubscribe();
      created.close();
    };
  }, [identity, transport]);

  const switchTransport = (next: Transport) => {
    globalThis.localStorage?.setItem(TRANSPORT_STORAGE, next);
    setTransport(next);
  };

  const newIdentity = () => {
    guestIdentity({ fresh: true }).then(
      setIdentity,
      (error) => setIdentityError(String(error.message)),
    );
  };

  return (
    <div class="notify-page">
      <div class="panel notify-identity">
        <div>
          <span class="muted">You are</span>{" "}
          <strong data-testid="identity-name">{identity?.name ?? "…"}</strong>{" "}
          <code class="notify-user-id" data-testid="identity-user">{identity?.userId ?? ""}</code>
          <div class="notify-status">
            <span class={`notify-dot ${state?.status === "open" ? "on" : ""}`} />
            <span data-testid="connection-status">
              {state?.status === "open"
                ? `Connected over ${transport === "sse" ? "SSE" : "WebSocket"}`
                : state?.status === "reconnecting"
                ? "Reconnecting…"
                : "Connecting…"}
            </span>
          </div>
        </div>
        <div class="notify-identity-actions">
          <div class="notify-switch" role="group" aria-label="Transport">
            <button
              type="button"
              class={transport === "websocket" ? "tab active" : "tab"}
              aria-pressed={transport === "websocket"}
              onClick={() => switchTransport("websocket")}
            >
              WebSocket
            </button>
            <button
              type="button"
              class={transport === "sse" ? "tab active" : "tab"}
              aria-pressed={transport === "sse"}
              onClick={() => switchTransport("sse")}
            >
              SSE
            </button>
          </div>
          <button type="button" onClick={newIdentity}>New identity</button>
          {feed && <NotificationBell feed={feed} />}
        </div>
      </div>
      {identityError && <p class="notice error">{identityError}</p>}
      <div class="grid-2 notify-grid">
        <div class="notify-column">
          {feed && identity && <SendForm feed={feed} props={props} />}
          {identity && <BackendForm identity={identity} props={props} />}
          {feed && <Preferences feed={feed} types={props.types} />}
        </div>
        <History feed={feed} state={state} />
      </div>
    </div>
  );
}

function TypeSelect(
  { types, value, onChange, id }: {
    types: string[];
    value: string;
    onChange(type: string): void;
    id: string;
  },
) {
  return (
    <select id={id} value={value} onChange={(event) => onChange(event.currentTarget.value)}>
      {types.map((type) => <option key={type} value={type}>{type}</option>)}
    </select>
  );
}

function SendForm(
  { feed, props }: {
    feed: NotificationFeed;
    props: { types: string[]; examples: Record<string, Record<string, unknown>> };
  },
) {
  const [type, setType] = useState(props.types.includes("success") ? "success" : props.types[0]!);
  const [data, setData] = useState(pretty(props.examples[type]));
  const [requiresAck, setRequiresAck] = useState(false);
  const [notice, setNotice] = useState<Notice>(null);
  const [busy, setBusy] = useState(false);

  const choose = (next: string) => {
    setType(next);
    setData(pretty(props.examples[next]));
  };

  const send = async (event: Event) => {
    event.preventDefault();
    const parsed = parseData(data);
    if (!parsed.ok) return setNotice({ kind: "error", text: parsed.message });
    setBusy(true);
    try {
      await feed.request("/api/notifications/demo", {
        method: "POST",
        json: { type, data: parsed.data, requiresAck },
      });
      setNotice({ kind: "ok", text: `Sent a ${type} notification to yourself.` });
    } catch (error) {
      setNotice({ kind: "error", text: (error as Error).message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="panel notify-form" onSubmit={send} data-testid="send-form">
      <h2>Send yourself a notification</h2>
      <p class="muted">
        Goes to your guest identity only, through the same path a backend's publish takes.
      </p>
      <label for="notify-type">Type</label>
      <TypeSelect id="notify-type" types={props.types} value={type} onChange={choose} />
      <label for="notify-data">Data (JSON, checked against the type's schema)</label>
      <textarea
        id="notify-data"
        rows={7}
        spellcheck={false}
        value={data}
        onInput={(event) => setData(event.currentTarget.value)}
      />
      <label class="notify-check">
        <input
          type="checkbox"
          checked={requiresAck}
          onChange={(event) => setRequiresAck(event.currentTarget.checked)}
        />{" "}
        Requires an ack (the bell acks it; without one it is re-sent, then marked failed)
      </label>
      <button type="submit" class="primary" disabled={busy} data-testid="send">
        Send to me
      </button>
      {notice && <p class={`notice ${notice.kind}`} data-testid="send-notice">{notice.text}</p>}
    </form>
  );
}

function BackendForm(
  { identity, props }: {
    identity: GuestIdentity;
    props: { types: string[]; examples: Record<string, Record<string, unknown>> };
  },
) {
  const [apiKey, setApiKey] = useState("");
  const [userId, setUserId] = useState(identity.userId);
  const [type, setType] = useState("file_uploaded");
  const [notice, setNotice] = useState<Notice>(null);

  useEffect(() => {
    setApiKey(globalThis.sessionStorage?.getItem(API_KEY_STORAGE) ?? "");
  }, []);
  useEffect(() => setUserId(identity.userId), [identity.userId]);

  const publish = async (event: Event) => {
    event.preventDefault();
    globalThis.sessionStorage?.setItem(API_KEY_STORAGE, apiKey);
    try {
      const body = await apiFetch<{ ids: string[] }>("/api/notifications/publish", {
        method: "POST",
        token: apiKey,
        json: { userId, type, data: props.examples[type] ?? {} },
      });
      setNotice({ kind: "ok", text: `Accepted (202): id ${body.ids[0]}` });
    } catch (error) {
      setNotice({ kind: "error", text: describeFailure(error) });
    }
  };

  const forget = () => {
    globalThis.sessionStorage?.removeItem(API_KEY_STORAGE);
    setApiKey("");
  };

  return (
    <details class="panel notify-backend">
      <summary>Publish as a backend, with the API key</summary>
      <form onSubmit={publish}>
        <p class="muted">
          This is what your server does. The key stays in this tab (sessionStorage) and is sent only
          in the Authorization header, never in a URL. Read it with <code>deno task api-key</code>.
        </p>
        <label for="notify-key">API key</label>
        <input
          id="notify-key"
          type="password"
          autocomplete="off"
          value={apiKey}
          onInput={(event) => setApiKey(event.currentTarget.value)}
        />
        <label for="notify-user">User id</label>
        <input
          id="notify-user"
          value={userId}
          onInput={(event) => setUserId(event.currentTarget.value)}
        />
        <label for="notify-backend-type">Type (sent with its example data)</label>
        <TypeSelect id="notify-backend-type" types={props.types} value={type} onChange={setType} />
        <div class="actions notify-actions">
          <button type="submit" class="primary" disabled={!apiKey}>Publish</button>
          <button type="button" onClick={forget} disabled={!apiKey}>Forget key</button>
        </div>
        {notice && <p class={`notice ${notice.kind}`}>{notice.text}</p>}
        <pre><code>{`curl -X POST $ORIGIN/api/notifications/publish \\
  -H "Authorization: Bearer $SWITCHBOARD_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '${JSON.stringify({ userId, type, data: props.examples[type] ?? {} })}'`}</code></pre>
      </form>
    </details>
  );
}

function Preferences({ feed, types }: { feed: NotificationFeed; types: string[] }) {
  const [muted, setMuted] = useState<string[] | null>(null);
  // This page only toggles types; the muted groups are sent back as they were, not wiped.
  const [mutedGroups, setMutedGroups] = useState<string[]>([]);
  const [notice, setNotice] = useState<Notice>(null);

  useEffect(() => {
    feed.request<{ muted: string[]; mutedGroups?: string[] }>("/api/notifications/preferences")
      .then((body) => {
        setMuted(body.muted);
        setMutedGroups(body.mutedGroups ?? []);
      }, () => setMuted([]));
  }, [feed]);

  const toggle = async (type: string, on: boolean) => {
    const next = on ? [...(muted ?? []), type] : (muted ?? []).filter((item) => item !== type);
    setMuted(next);
    try {
      await feed.request("/api/notifications/preferences", {
        method: "PUT",
        json: { muted: next, mutedGroups },
      });
      setNotice({ kind: "ok", text: on ? `${type} muted` : `${type} unmuted` });
    } catch (error) {
      setNotice({ kind: "error", text: (error as Error).message });
    }
  };

  return (
    <details class="panel notify-preferences">
      <summary>Muted types {muted?.length ? `(${muted.length})` : ""}</summary>
      <p class="muted">
        Muted notifications still go to your history, but are not pushed to your tabs.
      </p>
      <div class="notify-mute-list">
        {types.map((type) => (
          <label key={type} class="notify-check">
            <input
              type="checkbox"
              checked={muted?.includes(type) ?? false}
              disabled={muted === null}
              onChange={(event) => void toggle(type, event.currentTarget.checked)}
            />{" "}
            {type}
          </label>
        ))}
      </div>
      {notice && <p class={`notice ${notice.kind}`}>{notice.text}</p>}
    </details>
  );
}

function History({ feed, state }: { feed: NotificationFeed | null; state: FeedState | null }) {
  const items = state?.items ?? [];
  return (
    <section class="panel notify-history" aria-label="History">
      <div class="notify-history-head">
        <h2>
          History{" "}
          {state && state.unreadCount > 0 && (
            <span class="badge" data-testid="unread-count">{state.unreadCount} unread</span>
          )}
        </h2>
        <button
          type="button"
          disabled={!feed || !state?.unreadCount}
          onClick={() => void feed?.markAllRead().catch(() => {})}
        >
          Mark all read
        </button>
      </div>
      {items.length === 0
        ? (
          <p class="muted" data-testid="history-empty">
            {state?.loading ?? true ? "Loading…" : "No notifications yet. Send yourself one."}
          </p>
        )
        : (
          <ul class="notify-list">
            {items.map((item) => {
              const { title, body } = describeNotification(item.type, item.data);
              return (
                <li
                  key={item.id}
                  class={item.read ? "notify-item" : "notify-item unread"}
                  data-testid="history-item"
                  data-read={String(item.read)}
                >
                  <div class="notify-item-text">
                    <strong>{title}</strong>
                    <span>{body}</span>
                    <span class="muted notify-meta">
                      <span class="badge">{item.type}</span> {timeAgo(item.timestamp)}
                      {item.requiresAck ? " · ack required" : ""}
                    </span>
                  </div>
                  {!item.read && (
                    <button
                      type="button"
                      class="sb-link-button"
                      onClick={() => void feed?.markRead(item.id).catch(() => {})}
                    >
                      Mark read
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      {state?.hasMore && (
        <button
          type="button"
          disabled={state.loading}
          onClick={() => void feed?.loadMore()}
          data-testid="load-more"
        >
          Load older
        </button>
      )}
    </section>
  );
}
