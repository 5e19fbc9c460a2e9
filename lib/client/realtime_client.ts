import { backoffDelay } from "./backoff.ts";
import { CursorTracker } from "./cursor_tracker.ts";

/** Connection states a UI can show. */
export type ClientStatus = "idle" | "connecting" | "open" | "reconnecting" | "closed";

/** A frame from the server: JSON with a `type`. */
export interface ServerFrame {
  type: string;
  cursor?: string;
  [key: string]: unknown;
}

/** The error frame a server sent before it closed a refused connection. */
export interface RefusalError {
  code: string;
  message: string;
}

/** What {@linkcode RealtimeClientOptions.onStatus} reports with a status. */
export interface StatusDetail {
  code?: number;
  reason?: string;
  delayMs?: number;
  /** The server's refusal (its `error` frame), when it refused the connection. */
  error?: RefusalError;
}

/**
 * Close codes after which {@linkcode RealtimeClient} does not reconnect: 1000,
 * 1009 (it sent a frame over the server's limit, which a reconnect would repeat)
 * and the refusals a retry cannot fix (docs/protocol.md, "Close codes"): 4400
 * bad request, 4401 bad or revoked token, 4403 forbidden, 4404 not found, 4409
 * conflict, 4410 gone. 4429 and 4503 (too many connections, channel full) are
 * retried with backoff.
 */
export const FINAL_CLOSE_CODES: readonly number[] = [
  1000,
  1009,
  4400,
  4401,
  4403,
  4404,
  4409,
  4410,
];

/** Options of {@linkcode RealtimeClient}. */
export interface RealtimeClientOptions<F extends ServerFrame = ServerFrame> {
  /**
   * The URL of each (re)connect, given the cursor to resume from (null at first).
   * May be async, e.g. to mint a fresh single-use stream token first.
   */
  url(cursor: string | null): string | Promise<string>;
  /**
   * A token for each (re)connect. Over WebSocket it travels as the subprotocol
   * `token.<token>` (never in the URL, so proxy logs and traces cannot keep it);
   * over SSE it is appended as `?token=` (use a single-use stream token there).
   */
  token?: () => string | Promise<string>;
  /** Default "websocket". SSE is receive-only: `send()` throws. */
  transport?: "websocket" | "sse";
  /** Every new frame, in order, duplicates dropped. */
  onFrame(frame: F): void;
  /**
   * Status changes. After a close, `detail` has its code and reason and, when the
   * server refused the connection (an `error` frame right before a 4xxx close:
   * "Session not found", a bad token, a full channel), that `error`.
   */
  onStatus?(status: ClientStatus, detail?: StatusDetail): void;
  /** An id that identifies a frame for duplicate dropping (besides its cursor). */
  frameId?(frame: F): string | undefined;
  /** SSE event names to listen to (default ["message"]); "error" frames are always read. */
  sseEvents?: string[];
  /** Resume from here on the first connect. */
  initialCursor?: string | null;
  /** Backoff bounds (default 1 s → 30 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Application ping interval over WebSocket (default 25 s). */
  pingIntervalMs?: number;
  /** Close codes after which the client does not reconnect (default {@linkcode FINAL_CLOSE_CODES}). */
  finalCloseCodes?: number[];
  /** Frames kept while offline (default 500; the oldest are dropped beyond). */
  maxQueuedFrames?: number;
  /** For tests: replaces `globalThis.WebSocket` / `EventSource`. */
  WebSocket?: typeof WebSocket;
  EventSource?: typeof EventSource;
}

/**
 * A browser-safe realtime connection: WebSocket or SSE, reconnecting with
 * exponential backoff and jitter (1 s → 30 s), resuming from the last cursor,
 * queueing outgoing frames while offline and dropping duplicates.
 *
 * @example
 * ```ts
 * const client = new RealtimeClient({
 *   url: (cursor) => `/api/ws/channels/lobby${cursor ? `?since=${cursor}` : ""}`,
 *   token: () => localStorage.getItem("token") ?? "", // sent as the subprotocol, not in the URL
 *   onFrame: (frame) => console.log(frame),
 * });
 * client.start();
 * client.send({ type: "message", content: "hi" });
 * ```
 */
export class RealtimeClient<F extends ServerFrame = ServerFrame> {
  #options: RealtimeClientOptions<F>;
  #tracker: CursorTracker;
  #status: ClientStatus = "idle";
  #socket: WebSocket | null = null;
  #source: EventSource | null = null;
  #queue: unknown[] = [];
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ping: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  /**
   * Counts connection attempts: one that finds a newer one started while it awaited its
   * URL or token (a `reconnectNow()` meanwhile) gives way, or both would open and the
   * older socket or stream would stay open with nothing holding it.
   */
  #generation = 0;
  /** The last error frame without a cursor on this socket: a refusal, if a close follows. */
  #lastError: RefusalError | undefined;

  constructor(options: RealtimeClientOptions<F>) {
    this.#options = options;
    this.#tracker = new CursorTracker({ initial: options.initialCursor ?? null });
  }

  /** The current state. */
  get status(): ClientStatus {
    return this.#status;
  }

  /** The cursor a reconnect resumes from. */
  get cursor(): string | null {
    return this.#tracker.cursor;
  }

  /** Frames waiting for the connection. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Connects (once; later calls do nothing). */
  start(): void {
    if (this.#status !== "idle") return;
    void this.#connect();
  }

  /** Sends a frame now, or queues it until the connection is open. */
  send(frame: unknown): void {
    if (this.#options.transport === "sse") throw new Error("An SSE connection cannot send");
    if (this.#socket?.readyState === 1 && this.#status === "open") {
      this.#socket.send(JSON.stringify(frame));
      return;
    }
    this.#queue.push(frame);
    const max = this.#options.maxQueuedFrames ?? 500;
    if (this.#queue.length > max) this.#queue.splice(0, this.#queue.length - max);
  }

  /** Closes for good. */
  close(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#ping);
    this.#socket?.close(1000, "client closed");
    this.#source?.close();
    this.#setStatus("closed");
  }

  /** Drops the connection and reconnects at once (e.g. after the browser comes back online). */
  reconnectNow(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#attempt = 0;
    this.#teardown();
    void this.#connect();
  }

  #setStatus(status: ClientStatus, detail?: StatusDetail): void {
    this.#status = status;
    this.#options.onStatus?.(status, detail);
  }

  #teardown(): void {
    clearInterval(this.#ping);
    if (this.#socket) {
      this.#socket.onclose = null;
      this.#socket.onmessage = null;
      this.#socket.onopen = null;
      this.#socket.onerror = null;
      try {
        this.#socket.close();
      } catch { /* closing */ }
      this.#socket = null;
    }
    this.#source?.close();
    this.#source = null;
  }

  #handleText(text: string): void {
    let frame: F;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (
      frame.type === "error" && (frame.code === "too_far_behind" || frame.code === "epoch_changed")
    ) {
      this.#tracker.reset(typeof frame.cursor === "string" ? frame.cursor : null);
      this.#options.onFrame(frame);
      return;
    }
    if (frame.type === "error" && frame.cursor === undefined) {
      this.#lastError = { code: String(frame.code ?? ""), message: String(frame.message ?? "") };
    }
    if (!this.#tracker.accept(frame.cursor, this.#options.frameId?.(frame))) return;
    this.#options.onFrame(frame);
  }

  #scheduleReconnect(detail: StatusDetail): void {
    if (this.#stopped) return;
    const final = this.#options.finalCloseCodes ?? FINAL_CLOSE_CODES;
    if (detail.code !== undefined && final.includes(detail.code)) {
      this.#stopped = true;
      this.#setStatus("closed", detail);
      return;
    }
    const delayMs = backoffDelay(this.#attempt, {
      minMs: this.#options.minDelayMs ?? 1000,
      maxMs: this.#options.maxDelayMs ?? 30_000,
    });
    this.#attempt += 1;
    this.#setStatus("reconnecting", { ...detail, delayMs });
    this.#timer = setTimeout(() => void this.#connect(), delayMs);
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const generation = ++this.#generation;
    this.#setStatus(this.#attempt === 0 && this.#status === "idle" ? "connecting" : "reconnecting");
    let url: string;
    let token: string | undefined;
    try {
      url = await this.#options.url(this.#tracker.cursor);
      token = await this.#options.token?.();
    } catch (error) {
      if (generation === this.#generation) this.#scheduleReconnect({ reason: String(error) });
      return;
    }
    if (this.#stopped || generation !== this.#generation) return;
    if (this.#options.transport === "sse") {
      if (token) url += `${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
      this.#openSse(url);
    } else {
      this.#openWebSocket(url, token);
    }
  }

  #openWebSocket(url: string, token: string | undefined): void {
    const WebSocketClass = this.#options.WebSocket ?? globalThis.WebSocket;
    const absolute = new URL(url, globalThis.location?.href);
    if (absolute.protocol === "http:") absolute.protocol = "ws:";
    if (absolute.protocol === "https:") absolute.protocol = "wss:";
    const socket = token
      ? new WebSocketClass(absolute.href, ["switchboard", `token.${token}`])
      : new WebSocketClass(absolute.href);
    this.#socket = socket;
    this.#lastError = undefined;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.#setStatus("open");
      const queued = this.#queue.splice(0);
      for (const frame of queued) socket.send(JSON.stringify(frame));
      this.#ping = setInterval(() => {
        if (socket.readyState === 1) socket.send('{"type":"ping"}');
      }, this.#options.pingIntervalMs ?? 25_000);
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") this.#handleText(event.data);
    };
    // A failed connect is followed by `close`, which reconnects; the `ws` package (Node 20)
    // would throw an unhandled "error" event without a handler.
    socket.onerror = () => {};
    socket.onclose = (event) => {
      clearInterval(this.#ping);
      this.#socket = null;
      const refused = event.code >= 4400 && event.code <= 4599 ? this.#lastError : undefined;
      // A connection that opened starts the backoff over, unless it was only opened to be
      // refused (then 4429/4503 retries keep backing off).
      if (opened && !refused) this.#attempt = 0;
      this.#scheduleReconnect({
        code: event.code,
        reason: event.reason,
        ...(refused ? { error: refused } : {}),
      });
    };
  }

  #openSse(url: string): void {
    const EventSourceClass = this.#options.EventSource ?? globalThis.EventSource;
    const source = new EventSourceClass(url);
    this.#source = source;
    let opened = false;
    source.onopen = () => {
      opened = true;
      this.#attempt = 0;
      this.#setStatus("open");
    };
    const onMessage = (event: MessageEvent) => this.#handleText(String(event.data));
    for (const name of new Set([...(this.#options.sseEvents ?? ["message"]), "error"])) {
      source.addEventListener(name, (event) => {
        if (event instanceof MessageEvent && typeof event.data === "string") onMessage(event);
      });
    }
    source.onerror = () => {
      // EventSource would retry with the same (single-use) token: take over instead.
      source.close();
      if (this.#source !== source) return;
      this.#source = null;
      this.#scheduleReconnect({ reason: opened ? "stream ended" : "could not connect" });
    };
  }
}
