/**
 * The signaling socket of one side of a transfer, on the realtime client SDK:
 * it reconnects with backoff and resumes from the last cursor, so nothing the
 * other side sent while this one was away is lost or seen twice. The token
 * travels as the WebSocket subprotocol, never in the URL.
 */
import { type ClientStatus, RealtimeClient, type StatusDetail } from "../client/mod.ts";
// Types only: the server's schemas stay out of the browser bundle.
import type { SignalingClientFrame, SignalingServerFrame } from "../transfer/signaling.ts";

/** A frame from the signaling server: the server's own type (`lib/transfer/signaling.ts`). */
export type SignalingFrame = SignalingServerFrame;

/** Options of {@linkcode openSignaling}. */
export interface SignalingOptions {
  code: string;
  role: "creator" | "joiner";
  token: string;
  /** Resume after this cursor (e.g. kept in session storage across a reload). */
  initialCursor?: string | null;
  onFrame(frame: SignalingFrame): void;
  /**
   * Connection status; `failures` counts connect attempts in a row that did not open.
   * A refused socket ends `closed` with the server's `detail.error` ("Session not found").
   */
  onStatus?(status: ClientStatus, failures: number, detail?: StatusDetail): void;
  /** Backoff bounds (tests shorten them). Default 500 ms → 10 s. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** An open signaling session. */
export interface SignalingSession {
  send(frame: SignalingClientFrame): void;
  /** The cursor to resume from. */
  readonly cursor: string | null;
  readonly status: ClientStatus;
  close(): void;
  reconnectNow(): void;
}

/**
 * Connects one side of a transfer to `GET /api/ws/file-share-session`.
 *
 * @example
 * ```ts
 * const session = openSignaling({
 *   code: "K7QX3M",
 *   role: "creator",
 *   token: "ts_…", // the sender token from POST /api/transfer/create
 *   onFrame: (frame) => console.log(frame.type),
 * });
 * session.send({ type: "offer", offer: { type: "offer", sdp: "v=0…" } });
 * ```
 */
export function openSignaling(options: SignalingOptions): SignalingSession {
  let failures = 0;
  const client = new RealtimeClient<SignalingFrame>({
    transport: "websocket",
    url: (cursor) => {
      const query = new URLSearchParams({ code: options.code, role: options.role });
      if (cursor) query.set("since", cursor);
      return `/api/ws/file-share-session?${query}`;
    },
    token: () => options.token,
    initialCursor: options.initialCursor ?? null,
    minDelayMs: options.minDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 10_000,
    onFrame: (frame) => options.onFrame(frame),
    onStatus: (status, detail) => {
      if (status === "open") failures = 0;
      // "reconnecting" is reported when a retry is scheduled (with its delay) and when it starts.
      if (status === "reconnecting" && detail?.delayMs !== undefined) failures++;
      options.onStatus?.(status, failures, detail);
    },
  });
  client.start();
  return {
    send: (frame) => client.send(frame),
    get cursor() {
      return client.cursor;
    },
    get status() {
      return client.status;
    },
    close: () => client.close(),
    reconnectNow: () => client.reconnectNow(),
  };
}
