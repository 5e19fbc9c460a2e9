/** One realtime connection, WebSocket or SSE, as the domain code sees it. */
export interface Connection {
  readonly id: string;
  readonly kind: "websocket" | "sse";
  /** Aborted when the connection is closed, for whatever reason. */
  readonly signal: AbortSignal;
  /**
   * Queues a frame (an object, or its JSON text when already serialized). SSE uses `id` (resume cursor) and `event` (event name).
   * Returns false when the connection is closed. A full queue closes the
   * connection as a slow consumer (code 4008), so memory never grows unbounded.
   */
  send(frame: object | string, options?: { id?: string; event?: string }): boolean;
  /** How long delivery waits for a congested queue to drain before closing as a slow consumer. */
  readonly slowConsumerMs: number;
  /** True while the send queue is above half its limit. */
  readonly congested: boolean;
  /** Resolves when the send queue is below half its limit (or the connection closed). */
  drained(): Promise<void>;
  close(code?: number, reason?: string): void;
  /**
   * Resolves once the connection is closed and its close handler (`onClose`:
   * leaving presence, releasing a channel place) has run: what a shutdown waits
   * for before it closes KV.
   */
  readonly settled: Promise<void>;
  /**
   * Reports that a topic event published at `publishedAt` (ms since the epoch)
   * was just sent here: the publish→deliver latency metric of this connection's kind.
   */
  delivered?(publishedAt: number): void;
}

/** Counters a transport reports to (metrics). */
export interface TransportObserver {
  opened?(kind: Connection["kind"], label: string, connection: Connection): void;
  closed?(kind: Connection["kind"], label: string, connection: Connection): void;
  frameIn?(label: string): void;
  frameOut?(label: string): void;
  rejected?(label: string, code: string): void;
  slowConsumer?(label: string): void;
  /** A topic event reached a connection `latencyMs` after it was published. */
  delivered?(label: string, latencyMs: number): void;
}

/** A small token bucket for per-connection frame rates. */
export class FrameRateLimiter {
  #tokens: number;
  #capacity: number;
  #perSecond: number;
  #last = performance.now();

  constructor(perSecond: number) {
    this.#perSecond = perSecond;
    this.#capacity = perSecond * 2;
    this.#tokens = this.#capacity;
  }

  /** Takes one token; false when none is left. */
  take(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(
      this.#capacity,
      this.#tokens + ((now - this.#last) / 1000) * this.#perSecond,
    );
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
