/**
 * The browser side of notifications, shared by the bell and the page: one
 * connection (WebSocket by default, or SSE) through the client SDK's
 * {@linkcode RealtimeClient} (reconnect with backoff, resume from the cursor),
 * history pages and read state over HTTP, automatic acks, and duplicate
 * dropping by notification id. Browser-safe: no Deno APIs, no zod.
 */
import {
  apiFetch,
  type ApiFetchOptions,
  type ClientStatus,
  RealtimeClient,
  type ServerFrame,
} from "../client/mod.ts";
import {
  isNotificationFrame,
  type Notification,
  type NotificationFrame,
  READ_FRAME,
} from "./frames.ts";

/** One notification in the feed. */
export interface FeedItem extends Notification {
  read: boolean;
  acknowledged?: boolean;
}

/** Everything a view shows. */
export interface FeedState {
  items: FeedItem[];
  unreadCount: number;
  status: ClientStatus;
  /** More history exists before the oldest item. */
  hasMore: boolean;
  loading: boolean;
  error: string | null;
}

/** Options of {@linkcode NotificationFeed}. */
export interface FeedOptions {
  /** The Switchboard origin, e.g. `https://switchboard.example`; "" for the same origin. */
  apiBase?: string;
  /** The user (or guest) token for HTTP calls and for minting stream tokens. */
  token(): string | Promise<string>;
  /** Default "websocket". SSE acks over HTTP. */
  transport?: "websocket" | "sse";
  /**
   * Mint a single-use stream token before each connect (default true). Off for
   * cross-origin embeds, where the user token itself goes in `?token=`.
   */
  streamTokens?: boolean;
  /**
   * Notification types. No longer needed for SSE (notifications arrive as unnamed
   * events); kept so existing callers compile.
   */
  types?: readonly string[];
  /** Called for each notification that arrives live (not from history) the first time. */
  onNew?(item: FeedItem): void;
  /** Called when the server says notifications were read (e.g. in another tab). */
  onRead?(ids: string[], all: boolean): void;
  /** For tests: WebSocket/EventSource/fetch implementations. */
  WebSocket?: typeof WebSocket;
  EventSource?: typeof EventSource;
  fetch?: typeof fetch;
}

/** An HTTP call of the feed: a method and a JSON body, both optional. */
export type FeedRequest = Pick<ApiFetchOptions, "method" | "json">;

/** A history entry as the API returns it. */
interface HistoryResponse {
  notifications: FeedItem[];
  nextBefore: string | null;
  unreadCount: number;
}

/**
 * A user's notifications in the browser: live frames, history, unread count,
 * read and ack. Views subscribe and re-render on every change.
 *
 * @example
 * ```ts
 * const feed = new NotificationFeed({ token: () => localStorage.getItem("token") ?? "" });
 * feed.subscribe((state) => console.log(state.unreadCount, state.items.length));
 * feed.start();
 * ```
 */
export class NotificationFeed {
  #options: FeedOptions;
  #state: FeedState = {
    items: [],
    unreadCount: 0,
    status: "idle",
    hasMore: false,
    loading: false,
    error: null,
  };
  #listeners = new Set<(state: FeedState) => void>();
  #client: RealtimeClient | null = null;
  #nextBefore: string | null = null;
  #acked = new Set<string>();
  #newListeners = new Set<(item: FeedItem) => void>();
  #recount: ReturnType<typeof setTimeout> | undefined;
  #ackQueue: string[] = [];
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: FeedOptions) {
    this.#options = options;
  }

  /** The current state. */
  get state(): FeedState {
    return this.#state;
  }

  /** Calls `listener` now and on every change; returns the unsubscribe function. */
  subscribe(listener: (state: FeedState) => void): () => void {
    this.#listeners.add(listener);
    listener(this.#state);
    return () => this.#listeners.delete(listener);
  }

  #set(patch: Partial<FeedState>): void {
    this.#state = { ...this.#state, ...patch };
    for (const listener of this.#listeners) listener(this.#state);
  }

  #url(path: string): string {
    return `${(this.#options.apiBase ?? "").replace(/\/$/, "")}${path}`;
  }

  async #request<T>(path: string, request: FeedRequest = {}): Promise<T> {
    return await apiFetch<T>(this.#url(path), {
      ...request,
      token: await this.#options.token(),
      ...(this.#options.fetch ? { fetch: this.#options.fetch } : {}),
    });
  }

  /** Connects and loads the first page of history (connecting first, so nothing falls between). */
  start(): void {
    if (this.#client || this.#closed) return;
    const transport = this.#options.transport ?? "websocket";
    const sseEvents = transport === "sse" ? this.#sseEvents() : undefined;
    this.#client = new RealtimeClient({
      transport,
      url: (cursor) => this.#streamUrl(transport, cursor),
      onFrame: (frame) => this.#handleFrame(frame),
      onStatus: (status, detail) => {
        // A refused connection (a bad token…) says why in its error frame.
        this.#set(detail?.error ? { status, error: detail.error.message } : { status });
        // After a reconnect the count may have moved (muted ones, other devices).
        if (status === "open") void this.refreshUnreadCount();
      },
      ...(sseEvents ? { sseEvents } : {}),
      ...(this.#options.WebSocket ? { WebSocket: this.#options.WebSocket } : {}),
      ...(this.#options.EventSource ? { EventSource: this.#options.EventSource } : {}),
    });
    this.#client.start();
    void this.loadMore();
  }

  /** Notifications are unnamed events (`message`); of the control events only reads matter here. */
  #sseEvents(): string[] {
    return ["message", READ_FRAME];
  }

  async #streamUrl(transport: "websocket" | "sse", cursor: string | null): Promise<string> {
    let token: string;
    if (this.#options.streamTokens ?? true) {
      token = (await this.#request<{ token: string }>("/api/notifications/stream-token", {
        method: "POST",
      })).token;
    } else {
      token = await this.#options.token();
    }
    const path = transport === "sse" ? "/api/notifications/stream" : "/api/ws/notifications";
    const since = cursor ? `&since=${encodeURIComponent(cursor)}` : "";
    return this.#url(`${path}?token=${encodeURIComponent(token)}${since}`);
  }

  #handleFrame(frame: ServerFrame): void {
    if (frame.type === READ_FRAME) {
      const ids = Array.isArray(frame.ids) ? frame.ids.map(String) : [];
      const all = frame.all === true;
      this.#applyRead(ids, all);
      if (typeof frame.unreadCount === "number") this.#set({ unreadCount: frame.unreadCount });
      this.#options.onRead?.(ids, all);
      return;
    }
    if (!isNotificationFrame(frame)) return;
    const notification = frame as NotificationFrame;
    if (notification.requiresAck) this.#ack(notification);
    const known = this.#state.items.some((item) => item.id === notification.id);
    if (known) return;
    const item: FeedItem = {
      id: notification.id,
      type: notification.type,
      timestamp: notification.timestamp,
      requiresAck: notification.requiresAck,
      data: notification.data,
      read: false,
    };
    this.#set({
      items: sortNewestFirst([item, ...this.#state.items]),
      unreadCount: this.#state.unreadCount + 1,
    });
    this.#options.onNew?.(item);
    for (const listener of this.#newListeners) listener(item);
    // The +1 above is optimistic: a count fetched while this notification was in
    // flight may already include it. Settle on the server's count shortly after.
    clearTimeout(this.#recount);
    this.#recount = setTimeout(() => void this.refreshUnreadCount(), 150);
  }

  /** Calls `listener` for each notification that arrives live; returns the unsubscribe function. */
  onNew(listener: (item: FeedItem) => void): () => void {
    this.#newListeners.add(listener);
    return () => this.#newListeners.delete(listener);
  }

  #ack(frame: NotificationFrame): void {
    // A re-send means our earlier ack may not have arrived: ack again.
    const repeat = frame.retry !== undefined || frame.redelivered === true;
    if (this.#acked.has(frame.id) && !repeat) return;
    this.#acked.add(frame.id);
    if ((this.#options.transport ?? "websocket") === "websocket") {
      // Acks of a burst (redeliveries on connect) go out together, in one frame.
      this.#ackQueue.push(frame.id);
      this.#ackTimer ??= setTimeout(() => {
        this.#ackTimer = undefined;
        while (this.#ackQueue.length > 0) {
          const ids = this.#ackQueue.splice(0, 100);
          this.#client?.send(
            ids.length === 1
              ? { type: "ack", notificationId: ids[0] }
              : { type: "ack", notificationIds: ids },
          );
        }
      }, 10);
    } else {
      void this.#request(`/api/notifications/${encodeURIComponent(frame.id)}/ack`, {
        method: "POST",
      }).catch(() => this.#acked.delete(frame.id));
    }
  }

  #applyRead(ids: string[], all: boolean): void {
    const set = new Set(ids);
    this.#set({
      items: this.#state.items.map((item) =>
        all || set.has(item.id) ? { ...item, read: true } : item
      ),
    });
  }

  /** Loads the next (older) page of history. */
  async loadMore(limit = 20): Promise<void> {
    if (this.#state.loading) return;
    this.#set({ loading: true });
    try {
      const before = this.#nextBefore ? `&before=${encodeURIComponent(this.#nextBefore)}` : "";
      const page = await this.#request<HistoryResponse>(
        `/api/notifications?limit=${limit}${before}`,
      );
      this.#nextBefore = page.nextBefore;
      const byId = new Map(this.#state.items.map((item) => [item.id, item]));
      for (const item of page.notifications) {
        const live = byId.get(item.id);
        // History has the stored read state; a live read event may be newer.
        byId.set(item.id, { ...item, read: item.read || (live?.read ?? false) });
      }
      this.#set({
        items: sortNewestFirst([...byId.values()]),
        hasMore: page.nextBefore !== null,
        unreadCount: page.unreadCount,
        loading: false,
        error: null,
      });
    } catch (error) {
      this.#set({ loading: false, error: (error as Error).message });
    }
  }

  /** Asks the server for the unread count. */
  async refreshUnreadCount(): Promise<void> {
    try {
      const body = await this.#request<{ unreadCount: number }>(
        "/api/notifications/unread-count",
      );
      this.#set({ unreadCount: body.unreadCount });
    } catch { /* offline: the next read event corrects it */ }
  }

  /** Marks one notification read (every tab of the user hears of it). */
  async markRead(id: string): Promise<void> {
    const item = this.#state.items.find((candidate) => candidate.id === id);
    if (item?.read) return;
    this.#applyRead([id], false);
    this.#set({ unreadCount: Math.max(0, this.#state.unreadCount - 1) });
    const body = await this.#request<{ unreadCount: number }>(
      `/api/notifications/${encodeURIComponent(id)}/read`,
      { method: "POST" },
    );
    this.#set({ unreadCount: body.unreadCount });
  }

  /** Marks everything read. */
  async markAllRead(): Promise<void> {
    this.#applyRead([], true);
    this.#set({ unreadCount: 0 });
    const body = await this.#request<{ unreadCount: number }>("/api/notifications/read-all", {
      method: "POST",
    });
    this.#set({ unreadCount: body.unreadCount });
  }

  /**
   * Sends an HTTP request with the user's token (for the page's extra calls).
   * Rejects with `ApiClientError` (`lib/client`).
   */
  request<T>(path: string, request: FeedRequest = {}): Promise<T> {
    return this.#request<T>(path, request);
  }

  /** Closes the connection for good. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#ackTimer);
    clearTimeout(this.#recount);
    this.#client?.close();
    this.#client = null;
  }
}

function sortNewestFirst(items: FeedItem[]): FeedItem[] {
  return items.sort((a, b) =>
    a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : a.id < b.id ? 1 : -1
  );
}
