import { useEffect, useRef, useState } from "preact/hooks";
import { describeNotification, safeLink, timeAgo } from "../lib/notifications/examples.ts";
import { type FeedItem, type FeedState, NotificationFeed } from "../lib/notifications/feed.ts";
import { apiFetch, GUEST_EVENT, readGuest } from "../lib/client/mod.ts";
import { PushOnThisDevice, useAppServiceWorker } from "../components/PushOnThisDevice.tsx";

/** Props of the bell (JSON when used as an island; `feed` only when nested in another island). */
export interface NotificationBellProps {
  /** The Switchboard origin for embeds on other sites; "" (default) for our own pages. */
  apiBase?: string;
  /**
   * Embeds: a URL on the embedding site that returns `{"token": "<user token>"}`
   * (its backend mints it with `POST /api/tokens`). Fetched with cookies.
   */
  tokenUrl?: string;
  /** Our pages: the localStorage key of the guest identity (default the one every page shares). */
  storageKey?: string;
  transport?: "websocket" | "sse";
  types?: string[];
  /** Show toasts for new notifications (default true). */
  toasts?: boolean;
  /** Where the bell links when there is no identity yet (default /notifications). */
  emptyHref?: string;
  /**
   * Render nothing until there is an identity (the shared header of every page:
   * a visitor who never got one sees no bell). Default false: a link to `emptyHref`.
   */
  onlyWithIdentity?: boolean;
  /** A feed shared with the page around the bell (not a JSON prop). */
  feed?: NotificationFeed;
}

interface Toast {
  id: string;
  title: string;
  body: string;
  link: string | null;
  type: string;
}

const TOAST_MS = 8000;

/**
 * The item's link if it is safe on this page: relative links are resolved against the page's
 * own origin (an embed's host page, not Switchboard's), so "/\\evil.example" or "//evil.example"
 * never becomes an anchor that leaves the site.
 */
function linkOf(item: FeedItem): string | null {
  return safeLink(item.data, globalThis.location.origin);
}

function BellIcon() {
  return (
    <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-1.7 1.7A1 1 0 0 0 4 19.4h16a1 1 0 0 0 .7-1.7L19 16Z"
      />
    </svg>
  );
}

/**
 * Where the dropdown goes: under the bell, right-aligned; left-aligned when the
 * bell sits near the left edge; across the screen on narrow screens.
 */
function panelPlacement(bell: HTMLElement | null): Record<string, string> {
  if (!bell) return {};
  const rect = bell.getBoundingClientRect();
  const width = globalThis.innerWidth;
  if (width < 640) {
    return {
      position: "fixed",
      top: `${rect.bottom + 8}px`,
      left: "12px",
      right: "12px",
      width: "auto",
    };
  }
  return rect.right < Math.min(384, width - 24) + 12 ? { left: "0", right: "auto" } : {};
}

function tokenSource(props: NotificationBellProps): (() => Promise<string>) | null {
  if (props.tokenUrl) {
    const url = props.tokenUrl;
    let cached: { token: string; at: number } | null = null;
    return async () => {
      if (cached && Date.now() - cached.at < 5 * 60_000) return cached.token;
      const body = await apiFetch<{ token: string }>(url, { credentials: "include" });
      cached = { token: String(body.token), at: Date.now() };
      return cached.token;
    };
  }
  const identity = readGuest(props.storageKey ? { key: props.storageKey } : {});
  return identity ? () => Promise.resolve(identity.token) : null;
}

/**
 * The notification bell: unread badge, a dropdown of the latest notifications,
 * toasts for new ones, mark read / read all; acks `requiresAck` ones itself.
 * Every tab of the user stays in step: reading in one clears the badge in all.
 */
export default function NotificationBell(props: NotificationBellProps) {
  const [feed, setFeed] = useState<NotificationFeed | null>(props.feed ?? null);
  const [state, setState] = useState<FeedState | null>(props.feed?.state ?? null);
  const [open, setOpen] = useState(false);
  const [placement, setPlacement] = useState<Record<string, string>>({});
  const [toasts, setToasts] = useState<Toast[]>([]);
  const root = useRef<HTMLDivElement>(null);
  // Web Push and the service worker: our own pages only (a worker belongs to its origin).
  const ownPage = !props.apiBase && !props.tokenUrl;
  const identity = ownPage ? readGuest(props.storageKey ? { key: props.storageKey } : {}) : null;
  useAppServiceWorker(ownPage, identity);

  // A bell of its own (not nested in the page): connect when an identity exists.
  useEffect(() => {
    if (props.feed) return;
    let own: NotificationFeed | null = null;
    const connect = () => {
      const token = tokenSource(props);
      if (!token || own) return;
      own = new NotificationFeed({
        apiBase: props.apiBase ?? "",
        token,
        transport: props.transport ?? "websocket",
        streamTokens: !props.apiBase,
        ...(props.types ? { types: props.types } : {}),
      });
      setFeed(own);
      own.start();
    };
    connect();
    globalThis.addEventListener(GUEST_EVENT, connect);
    return () => {
      globalThis.removeEventListener(GUEST_EVENT, connect);
      own?.close();
    };
  }, []);

  useEffect(() => {
    if (!feed) return;
    const unsubscribe = feed.subscribe(setState);
    const stopNew = props.toasts === false ? () => {} : feed.onNew((item) => {
      const { title, body } = describeNotification(item.type, item.data);
      setToasts((current) => [
        ...current.filter((toast) => toast.id !== item.id).slice(-3),
        { id: item.id, title, body, link: linkOf(item), type: item.type },
      ]);
      setTimeout(
        () => setToasts((current) => current.filter((toast) => toast.id !== item.id)),
        TOAST_MS,
      );
    });
    return () => {
      unsubscribe();
      stopNew();
    };
  }, [feed]);

  useEffect(() => {
    if (!open) return;
    const onPointer = (event: Event) => {
      if (root.current && !root.current.contains(event.target as Node)) setOpen(false);
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") setOpen(false);
    };
    document.addEventListener("pointerdown", onPointer);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("pointerdown", onPointer);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);

  if (!feed && props.onlyWithIdentity) return null;
  if (!feed || !state) {
    return (
      <div class="sb-bell" data-testid="bell" data-state="idle">
        <a
          class="sb-bell-button"
          href={props.emptyHref ?? "/notifications"}
          title="Notifications"
          aria-label="Notifications"
        >
          <BellIcon />
        </a>
      </div>
    );
  }

  const unread = state.unreadCount;
  const readIds = new Set(state.items.filter((item) => item.read).map((item) => item.id));
  const visibleToasts = toasts.filter((toast) => !readIds.has(toast.id));
  const latest = state.items.slice(0, 8);
  const markRead = (id: string) => void feed.markRead(id).catch(() => {});

  return (
    <div class="sb-bell" ref={root} data-testid="bell" data-state={state.status}>
      <button
        type="button"
        class="sb-bell-button"
        aria-haspopup="true"
        aria-expanded={open}
        aria-label={unread ? `Notifications, ${unread} unread` : "Notifications"}
        data-testid="bell-button"
        onClick={() => {
          if (!open) setPlacement(panelPlacement(root.current));
          setOpen(!open);
        }}
      >
        <BellIcon />
        {unread > 0 && (
          <span class="sb-bell-badge" data-testid="bell-badge">{unread > 99 ? "99+" : unread}</span>
        )}
        {state.status !== "open" && <span class="sb-bell-offline" title="Reconnecting" />}
      </button>
      {open && (
        <div
          class="sb-bell-panel"
          role="dialog"
          aria-label="Notifications"
          data-testid="bell-panel"
          style={placement}
        >
          <div class="sb-bell-panel-head">
            <strong>Notifications</strong>
            <button
              type="button"
              class="sb-link-button"
              disabled={unread === 0}
              data-testid="bell-read-all"
              onClick={() => void feed.markAllRead().catch(() => {})}
            >
              Mark all read
            </button>
          </div>
          {latest.length === 0
            ? <p class="sb-bell-empty">Nothing yet. New notifications appear here.</p>
            : (
              <ul class="sb-bell-list">
                {latest.map((item) => {
                  const { title, body } = describeNotification(item.type, item.data);
                  const link = linkOf(item);
                  return (
                    <li
                      key={item.id}
                      class={item.read ? "sb-bell-item" : "sb-bell-item unread"}
                      data-testid="bell-item"
                      data-read={String(item.read)}
                    >
                      <button
                        type="button"
                        class="sb-bell-item-main"
                        onClick={() => markRead(item.id)}
                      >
                        <span class="sb-bell-dot" aria-hidden="true" />
                        <span class="sb-bell-text">
                          <span class="sb-bell-title">{title}</span>
                          <span class="sb-bell-body">{body}</span>
                          <span class="sb-bell-meta">{item.type} · {timeAgo(item.timestamp)}</span>
                        </span>
                      </button>
                      {link && (
                        <a
                          class="sb-bell-open"
                          href={link}
                          onClick={() => markRead(item.id)}
                        >
                          Open
                        </a>
                      )}
                    </li>
                  );
                })}
              </ul>
            )}
          {ownPage && <PushOnThisDevice identity={identity} />}
          {!props.feed && !props.apiBase && (
            <a class="sb-bell-all" href="/notifications">
              All notifications →
            </a>
          )}
        </div>
      )}
      {visibleToasts.length > 0 && (
        <div class="sb-toasts" role="status" aria-live="polite">
          {visibleToasts.map((toast) => (
            <div
              key={toast.id}
              class={toast.type === "error" ? "sb-toast error" : "sb-toast"}
              data-testid="toast"
            >
              <div class="sb-toast-text">
                <strong>{toast.title}</strong>
                <span>{toast.body}</span>
              </div>
              <div class="sb-toast-actions">
                {toast.link && <a href={toast.link} onClick={() => markRead(toast.id)}>Open</a>}
                <button
                  type="button"
                  class="sb-link-button"
                  data-testid="toast-read"
                  onClick={() => markRead(toast.id)}
                >
                  Mark read
                </button>
                <button
                  type="button"
                  class="sb-toast-close"
                  aria-label="Dismiss"
                  onClick={() => setToasts((current) => current.filter((t) => t.id !== toast.id))}
                >
                  ×
                </button>
              </div>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
