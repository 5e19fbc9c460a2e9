/**
 * @module
 * A real WebSocket client for tests that records every frame and lets a test
 * wait for the next frame matching a predicate.
 */

// deno-lint-ignore no-explicit-any -- frames are arbitrary JSON
export type Frame = Record<string, any>;

/** A recording WebSocket client. */
export interface TestSocket extends AsyncDisposable {
  socket: WebSocket;
  frames: Frame[];
  /** Resolves with the first frame (already received or future) matching `predicate`. */
  next(predicate?: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  /** Resolves once `count` frames matching `predicate` were received in total. */
  collect(
    predicate: (frame: Frame) => boolean,
    count: number,
    timeoutMs?: number,
  ): Promise<Frame[]>;
  send(frame: unknown): void;
  close(): Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a WebSocket (offering `protocols`) and resolves once it is open (rejects if it fails to open). */
export function openSocket(url: string, protocols?: string[]): Promise<TestSocket> {
  const socket = new WebSocket(url, protocols);
  const frames: Frame[] = [];
  const listeners = new Set<() => void>();
  let consumed = 0;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.addEventListener("close", (event) => {
      resolve({ code: event.code, reason: event.reason });
      for (const listener of listeners) listener();
    });
  });
  socket.addEventListener("message", (event) => {
    frames.push(JSON.parse(String(event.data)));
    for (const listener of listeners) listener();
  });
  function waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = () => {
        const value = check();
        if (value !== undefined) {
          cleanup();
          resolve(value);
        } else if (socket.readyState === WebSocket.CLOSED) {
          cleanup();
          reject(
            new Error(
              `socket closed while waiting for ${what}; frames: ${
                JSON.stringify(frames.slice(-5))
              }`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `timed out waiting for ${what}; last frames: ${JSON.stringify(frames.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(done);
      };
      listeners.add(done);
      done();
    });
  }
  const client: TestSocket = {
    socket,
    frames,
    next(predicate = () => true, timeoutMs = 10_000) {
      return waitUntil(
        () => {
          for (let index = consumed; index < frames.length; index++) {
            if (predicate(frames[index]!)) {
              consumed = index + 1;
              return frames[index];
            }
          }
          return undefined;
        },
        timeoutMs,
        "a matching frame",
      );
    },
    collect(predicate, count, timeoutMs = 15_000) {
      return waitUntil(
        () => {
          const matching = frames.filter(predicate);
          return matching.length >= count ? matching : undefined;
        },
        timeoutMs,
        `${count} frames`,
      );
    },
    send(frame) {
      socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    },
    async close() {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
        socket.close();
      }
      await closed;
    },
    closed,
    [Symbol.asyncDispose]: () => client.close(),
  };
  return new Promise((resolve, reject) => {
    socket.addEventListener("open", () => resolve(client), { once: true });
    socket.addEventListener("error", () => reject(new Error(`could not open ${url}`)), {
      once: true,
    });
  });
}

/** Attempts a WebSocket upgrade with fetch-like semantics and returns the HTTP status it got. */
export async function upgradeStatus(
  url: string,
): Promise<{ status: number; body: Frame | string }> {
  // `strict=1`: the HTTP status of a refusal instead of an error frame after the upgrade.
  const strict = new URL(url.replace(/^ws/, "http"));
  strict.searchParams.set("strict", "1");
  const response = await fetch(strict, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
  const text = await response.text();
  let body: Frame | string = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: response.status, body };
}

/** What a refused WebSocket saw: whether it opened, its frames and its close. */
export interface Refusal {
  opened: boolean;
  frames: Frame[];
  code: number;
  reason: string;
}

/**
 * Connects and waits for the server to close the socket (a connect refused after
 * the upgrade: one `error` frame, then a 4xxx close code).
 */
export function refusedSocket(url: string, protocols?: string[]): Promise<Refusal> {
  const socket = new WebSocket(url, protocols);
  const refusal: Refusal = { opened: false, frames: [], code: 0, reason: "" };
  socket.onopen = () => refusal.opened = true;
  socket.onmessage = (event) => refusal.frames.push(JSON.parse(String(event.data)));
  return new Promise((resolve) => {
    socket.onclose = (event) => {
      refusal.code = event.code;
      refusal.reason = event.reason;
      resolve(refusal);
    };
  });
}
