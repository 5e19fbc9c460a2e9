import { newId } from "../ids/mod.ts";
import { CLOSE_CODES } from "./close_codes.ts";
import type { Connection, TransportObserver } from "./connection.ts";

/** Options of one SSE stream. */
export interface SseOptions {
  label: string;
  /** Comment heartbeat interval (default 15 s, at most 20 s). */
  heartbeatMs?: number;
  /** Bytes queued before the client counts as slow (default 1 MiB). */
  sendQueueBytes?: number;
  /** A queue that does not drain within this time ends the stream (default 10 s). */
  slowConsumerMs?: number;
  /** Suggested reconnect delay for EventSource (default 1000 ms). */
  retryMs?: number;
  observer?: TransportObserver;
  /** Places the connection holds (see `ConnectionCaps`), given back when it ends. */
  lease?: { release(): void };
  /**
   * The `id:` written for a frame's cursor (default: the cursor itself), e.g. a
   * signed id that lets EventSource's own reconnect resume (`EventIdSigner`).
   * A stream that sent no id for `eventIdRefreshMs` gets its last cursor's id
   * again, freshly made, with a heartbeat (an `id:` line without data moves
   * EventSource's last event id), so a signed id never ages out on a quiet stream.
   */
  eventId?(cursor: string): string;
  /** How often a quiet stream's id is renewed (default 1 h; only with `eventId`). */
  eventIdRefreshMs?: number;
  onOpen?(connection: Connection): void | Promise<void>;
  onClose?(connection: Connection): void | Promise<void>;
  onError?(error: unknown): void;
}

const encoder = new TextEncoder();

// Fan-out sends the same serialized frame to every subscriber of a topic: encode it once.
let lastEncoded: {
  text: string;
  id?: string | undefined;
  event?: string | undefined;
  bytes: Uint8Array;
} | null = null;

function encodeEvent(text: string, options: { id?: string; event?: string }): Uint8Array {
  const cached = lastEncoded;
  if (
    cached && cached.text === text && cached.id === options.id && cached.event === options.event
  ) {
    return cached.bytes;
  }
  const bytes = encoder.encode(formatSseEvent(text, options));
  lastEncoded = { text, id: options.id, event: options.event, bytes };
  return bytes;
}

/** Formats one SSE event; multi-line data is split into several `data:` lines. */
function formatSseEvent(
  data: string,
  options: { id?: string; event?: string } = {},
): string {
  let text = "";
  if (options.id) text += `id: ${options.id.replace(/[\r\n]/g, "")}\n`;
  if (options.event) text += `event: ${options.event.replace(/[\r\n]/g, "")}\n`;
  for (const line of data.split(/\r?\n/)) text += `data: ${line}\n`;
  return text + "\n";
}

/**
 * Opens a Server-Sent Events stream as a {@linkcode Connection}. Comment
 * heartbeats keep proxies from closing it; a client that does not read closes
 * the stream once its queue passes the limit (EventSource then reconnects
 * with `Last-Event-ID`, so nothing is lost).
 */
export function openSse(options: SseOptions): Response {
  const heartbeatMs = Math.min(options.heartbeatMs ?? 15_000, 20_000);
  const sendQueueBytes = options.sendQueueBytes ?? 1024 * 1024;
  const observer = options.observer ?? {};
  const closed = new AbortController();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let finished = false;
  let lastCursor: string | undefined;
  let lastIdAt = 0;
  const refreshMs = options.eventIdRefreshMs ?? 3600_000;

  function heartbeatText(): string {
    if (!options.eventId || lastCursor === undefined || Date.now() - lastIdAt < refreshMs) {
      return ": heartbeat\n\n";
    }
    lastIdAt = Date.now();
    return `: heartbeat\nid: ${options.eventId(lastCursor).replace(/[\r\n]/g, "")}\n\n`;
  }
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => settle = resolve);

  function finish(): void {
    if (finished) return;
    finished = true;
    options.lease?.release();
    clearInterval(heartbeat);
    closed.abort();
    observer.closed?.("sse", options.label, connection);
    Promise.resolve(options.onClose?.(connection)).catch((error) => options.onError?.(error))
      .finally(settle);
  }

  function enqueue(chunk: string | Uint8Array): boolean {
    if (finished) return false;
    if ((controller.desiredSize ?? 0) <= 0) {
      connection.close(CLOSE_CODES.slowConsumer);
      return false;
    }
    controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
    return true;
  }

  const connection: Connection = {
    id: newId(),
    kind: "sse",
    signal: closed.signal,
    settled,
    slowConsumerMs: options.slowConsumerMs ?? 10_000,
    send(frame, sendOptions = {}) {
      const text = typeof frame === "string" ? frame : JSON.stringify(frame);
      let wire = sendOptions;
      if (sendOptions.id && options.eventId) {
        lastCursor = sendOptions.id;
        lastIdAt = Date.now();
        wire = { ...sendOptions, id: options.eventId(sendOptions.id) };
      }
      const sent = enqueue(encodeEvent(text, wire));
      if (sent) observer.frameOut?.(options.label);
      return sent;
    },
    get congested() {
      return !finished && (controller.desiredSize ?? 0) < sendQueueBytes / 2;
    },
    async drained() {
      while (!finished && (controller.desiredSize ?? 0) < sendQueueBytes / 2) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    delivered(publishedAt) {
      observer.delivered?.(options.label, Date.now() - publishedAt);
    },
    close(code) {
      if (code === CLOSE_CODES.slowConsumer && !finished) observer.slowConsumer?.(options.label);
      if (!finished) {
        try {
          controller.close();
        } catch { /* already closed */ }
      }
      finish();
    },
  };

  const stream = new ReadableStream<Uint8Array>({
    start(streamController) {
      controller = streamController;
      controller.enqueue(encoder.encode(`retry: ${options.retryMs ?? 1000}\n: connected\n\n`));
      heartbeat = setInterval(() => enqueue(heartbeatText()), heartbeatMs);
      observer.opened?.("sse", options.label, connection);
      Promise.resolve(options.onOpen?.(connection)).catch((error) => {
        options.onError?.(error);
        connection.close();
      });
    },
    cancel() {
      finish();
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: sendQueueBytes }));

  return new Response(stream, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
      "Connection": "keep-alive",
    },
  });
}
