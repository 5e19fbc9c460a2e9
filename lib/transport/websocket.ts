import { newId } from "../ids/mod.ts";
import { CLOSE_CODES, TRANSPORT_ERRORS } from "./close_codes.ts";
import { type Connection, FrameRateLimiter, type TransportObserver } from "./connection.ts";
import { type FrameSchemas, parseFrame } from "./frames.ts";
import { exceedsUtf8Bytes } from "../text/mod.ts";
import { offeredSubprotocols } from "./refusal.ts";

/** Limits and handlers of one WebSocket endpoint. */
export interface WebSocketOptions<F> {
  /** Used in metrics labels: "notifications", "chat", "signaling", "topics". */
  label: string;
  frames: FrameSchemas<F>;
  /** Largest inbound frame in bytes (default 64 KiB). */
  maxFrameBytes?: number;
  /** Inbound frames per second (default 20; bursts of twice that). */
  messagesPerSecond?: number;
  /** Bytes buffered for sending before the client counts as slow (default 1 MiB). */
  sendQueueBytes?: number;
  /** A queue that does not drain within this time closes the socket with 4008 (default 10 s). */
  slowConsumerMs?: number;
  /** Seconds without a pong to the server's pings before the socket is closed (default 60). */
  idleTimeoutSeconds?: number;
  observer?: TransportObserver;
  /** Places the connection holds (see `ConnectionCaps`), given back when it ends. */
  lease?: { release(): void };
  /** The connection's id (default: a new one); a route that needs it before the upgrade picks it. */
  id?: string;
  onOpen?(connection: Connection): void | Promise<void>;
  onFrame(connection: Connection, frame: F): void | Promise<void>;
  onClose?(connection: Connection): void | Promise<void>;
  onError?(error: unknown): void;
}

/**
 * Upgrades a request to a WebSocket {@linkcode Connection}. Every inbound frame
 * is size-checked, rate-limited, parsed and validated before `onFrame`; a bad
 * frame gets an error frame and the connection stays open. `ping` frames are
 * answered with `pong` here. Frames are handled one at a time, in order.
 */
export function acceptWebSocket<F>(request: Request, options: WebSocketOptions<F>): Response {
  // A client that offers the "switchboard" subprotocol (to carry its token outside
  // the URL) must get it selected back, or the browser drops the connection.
  const offered = offeredSubprotocols(request);
  const { socket, response } = Deno.upgradeWebSocket(request, {
    idleTimeout: options.idleTimeoutSeconds ?? 60,
    ...(offered.includes("switchboard") ? { protocol: "switchboard" } : {}),
  });
  const maxFrameBytes = options.maxFrameBytes ?? 64 * 1024;
  const sendQueueBytes = options.sendQueueBytes ?? 1024 * 1024;
  const limiter = new FrameRateLimiter(options.messagesPerSecond ?? 20);
  const observer = options.observer ?? {};
  const closed = new AbortController();
  let strikes = 0;
  let queue: Promise<void> = Promise.resolve();
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => settle = resolve);

  // An upper bound of the bytes the socket holds: its last reading plus three bytes
  // per UTF-16 unit sent since (UTF-8 never needs more). Reading `bufferedAmount`
  // is a call into the runtime, so it is read only when this bound says the queue
  // may be long: a fan-out of small frames reads it once per ~170 KB, not per frame.
  let buffered = 0;
  const holdsOver = (limit: number) =>
    buffered > limit && (buffered = socket.bufferedAmount) > limit;
  const connection: Connection = {
    id: options.id ?? newId(),
    kind: "websocket",
    signal: closed.signal,
    settled,
    slowConsumerMs: options.slowConsumerMs ?? 10_000,
    send(frame) {
      if (closed.signal.aborted || socket.readyState !== WebSocket.OPEN) return false;
      if (holdsOver(sendQueueBytes)) {
        connection.close(CLOSE_CODES.slowConsumer, "slow consumer: reconnect and resume");
        return false;
      }
      const text = typeof frame === "string" ? frame : JSON.stringify(frame);
      socket.send(text);
      buffered += text.length * 3;
      observer.frameOut?.(options.label);
      return true;
    },
    get congested() {
      return holdsOver(sendQueueBytes / 2);
    },
    async drained() {
      while (!closed.signal.aborted && socket.bufferedAmount > sendQueueBytes / 2) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    delivered(publishedAt) {
      observer.delivered?.(options.label, Date.now() - publishedAt);
    },
    close(code = CLOSE_CODES.normal, reason = "") {
      if (code === CLOSE_CODES.slowConsumer && !finished) observer.slowConsumer?.(options.label);
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
        try {
          socket.close(code, reason);
        } catch { /* already closing */ }
      }
      finish();
    },
  };

  function sendError(code: keyof typeof TRANSPORT_ERRORS, message?: string): void {
    observer.rejected?.(options.label, code);
    connection.send({ type: "error", code, message: message ?? TRANSPORT_ERRORS[code] });
  }

  let finished = false;
  function finish(): void {
    if (finished) return;
    finished = true;
    options.lease?.release();
    closed.abort();
    observer.closed?.("websocket", options.label, connection);
    queue = queue.then(async () => {
      try {
        await options.onClose?.(connection);
      } catch (error) {
        options.onError?.(error);
      }
      settle();
    });
  }

  socket.onopen = () => {
    observer.opened?.("websocket", options.label, connection);
    queue = queue.then(async () => {
      try {
        await options.onOpen?.(connection);
      } catch (error) {
        options.onError?.(error);
        connection.close(CLOSE_CODES.internalError, "internal error");
      }
    });
  };
  socket.onmessage = (event: MessageEvent) => {
    observer.frameIn?.(options.label);
    if (!limiter.take()) {
      strikes += 1;
      if (strikes > 50) connection.close(CLOSE_CODES.policyViolation, "rate limit exceeded");
      else sendError("rate_limited");
      return;
    }
    strikes = 0;
    if (typeof event.data !== "string") return sendError("binary_not_supported");
    const text = event.data;
    if (exceedsUtf8Bytes(text, maxFrameBytes)) {
      // Deno holds a whole frame (up to 64 MiB) before the app sees it: a client that
      // sends one past the limit loses the socket, so it cannot do it again on this one.
      sendError("message_too_large", `Frames are limited to ${maxFrameBytes} bytes`);
      connection.close(CLOSE_CODES.messageTooBig, "frame too large");
      return;
    }
    if (text === '{"type":"ping"}' || /^\s*\{\s*"type"\s*:\s*"ping"\s*\}\s*$/.test(text)) {
      connection.send({ type: "pong" });
      return;
    }
    const parsed = parseFrame(text, options.frames);
    if (!parsed.ok) return sendError(parsed.code, parsed.message);
    // Frames that arrived before a close are still handled (a peer's last ICE
    // candidates, a chat message sent just before leaving); `onClose` runs after them.
    queue = queue.then(async () => {
      try {
        await options.onFrame(connection, parsed.frame);
      } catch (error) {
        options.onError?.(error);
        sendError("internal_error");
      }
    });
  };
  socket.onclose = () => finish();
  socket.onerror = () => finish();
  return response;
}
