/**
 * Caps on concurrent realtime connections (WebSockets and SSE streams) per key:
 * a client address, a user, a user in one chat channel. Counted in memory by
 * each isolate (exact there, no KV round trip on connect): an isolate admits
 * at most `max` connections per key, so one client cannot hold a whole channel
 * or the server's sockets, whatever tokens it mints.
 */

/** One cap to check: at most `max` connections under `key` (e.g. `user:ada`). */
export interface Cap {
  key: string;
  max: number;
}

/** The places a connection holds; give them back when it ends (twice is once). */
export interface CapLease {
  release(): void;
}

/** What {@linkcode ConnectionCaps.admit} answers. */
export type Admission = { ok: true; lease: CapLease } | { ok: false; cap: Cap };

/** Counts connections per key in this isolate. */
export class ConnectionCaps {
  #counts = new Map<string, number>();

  /** Takes a place under every cap, or none (and says which cap is full). */
  admit(caps: readonly Cap[]): Admission {
    for (const cap of caps) {
      if ((this.#counts.get(cap.key) ?? 0) >= cap.max) return { ok: false, cap };
    }
    for (const cap of caps) this.#counts.set(cap.key, (this.#counts.get(cap.key) ?? 0) + 1);
    let released = false;
    return {
      ok: true,
      lease: {
        release: () => {
          if (released) return;
          released = true;
          for (const cap of caps) {
            const count = (this.#counts.get(cap.key) ?? 1) - 1;
            if (count > 0) this.#counts.set(cap.key, count);
            else this.#counts.delete(cap.key);
          }
        },
      },
    };
  }

  /** Connections counted under `key` now. */
  count(key: string): number {
    return this.#counts.get(key) ?? 0;
  }
}
