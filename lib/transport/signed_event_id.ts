import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import { parseCursor } from "../realtime/mod.ts";

/** How long a signed event id resumes a stream after it was sent (default 24 h). */
export const EVENT_ID_MAX_AGE_MS = 24 * 3600 * 1000;

/** Options of {@linkcode EventIdSigner}. */
export interface EventIdSignerOptions {
  /** The clock (default `Date.now`). */
  now?: () => number;
  /** How long an id stays good for a resume (default {@linkcode EVENT_ID_MAX_AGE_MS}). */
  maxAgeMs?: number;
  /** How long one MAC is reused for a subject's ids in one epoch (default 10 minutes). */
  reuseMs?: number;
}

/** What {@linkcode EventIdSigner.verify} answers. */
export type EventIdCheck =
  | { ok: true; cursor: string; issuedAtMs: number }
  | { ok: false; reason: "malformed" | "forged" | "expired" };

// Keeps these MACs apart from anything else the server secret signs.
const PURPOSE = "switchboard.sse-event-id.v2";
const MAC_BYTES = 16;

/**
 * SSE event ids that authenticate a resume: `<cursor>.<sent>.<mac>`, where the
 * MAC (HMAC-SHA256 with the server secret, 128 bits) binds the cursor's epoch
 * and the time it was made to one subject (the user). EventSource sends the last
 * id back by itself as `Last-Event-ID` when it reconnects with the same URL,
 * whose single-use token is spent by then: a valid id issued to the token's
 * user lets that reconnect resume without a new token.
 *
 * The offset is not under the MAC: it only says where in the user's own log to
 * resume, which that user may read anyway, so one MAC serves every event of a
 * subject in an epoch for `reuseMs`. That keeps the cost per event to a string
 * concatenation: an HMAC costs 10–40 µs here, which per delivered SSE event
 * would add about a third to the cost of a notification fan-out.
 *
 * Hand-written on `node:crypto` because the MAC must be computed synchronously
 * inside `Connection.send` (WebCrypto's `sign` is async) and there is nothing
 * more to it than one HMAC.
 *
 * @example
 * ```ts
 * import { EventIdSigner } from "./signed_event_id.ts";
 *
 * const signer = new EventIdSigner("server secret");
 * const id = signer.sign("ada", "k2x9fq1a-42"); // "k2x9fq1a-42.<sent>.<mac>"
 * signer.verify("ada", id); // { ok: true, cursor: "k2x9fq1a-42", issuedAtMs }
 * signer.verify("bob", id); // { ok: false, reason: "forged" }
 * ```
 */
export class EventIdSigner {
  #secret: string;
  #now: () => number;
  #maxAgeMs: number;
  #reuseMs: number;
  /** `subject \0 epoch` → the suffix `.<sent>.<mac>` made at `madeAt`. */
  #suffixes = new Map<string, { suffix: string; madeAt: number }>();

  constructor(secret: string, options: EventIdSignerOptions = {}) {
    this.#secret = secret;
    this.#now = options.now ?? Date.now;
    this.#maxAgeMs = options.maxAgeMs ?? EVENT_ID_MAX_AGE_MS;
    this.#reuseMs = options.reuseMs ?? 10 * 60_000;
  }

  /** The event id of `cursor` (`<epoch>-<offset>`) for `subject`. */
  sign(subject: string, cursor: string): string {
    const epoch = cursor.slice(0, Math.max(0, cursor.lastIndexOf("-")));
    const key = `${subject}\0${epoch}`;
    const now = this.#now();
    let made = this.#suffixes.get(key);
    if (!made || now - made.madeAt >= this.#reuseMs) {
      const sent = Math.floor(now / 1000).toString(36);
      const mac = this.#mac(subject, epoch, sent).toString("base64url");
      // Bounded: a busy isolate makes each subject's MAC again after a clear.
      if (this.#suffixes.size >= 50_000) this.#suffixes.clear();
      made = { suffix: `.${sent}.${mac}`, madeAt: now };
      this.#suffixes.set(key, made);
    }
    return cursor + made.suffix;
  }

  /** Checks an id against `subject`: its cursor when the MAC holds and it is recent enough. */
  verify(subject: string, id: string): EventIdCheck {
    const parts = id.split(".");
    if (parts.length !== 3) return { ok: false, reason: "malformed" };
    const [cursor, sent, mac] = parts as [string, string, string];
    const position = parseCursor(cursor);
    if (!position?.epoch || !/^[0-9a-z]{1,10}$/.test(sent) || mac.length > 64) {
      return { ok: false, reason: "malformed" };
    }
    const given = Buffer.from(mac, "base64url");
    const expected = this.#mac(subject, position.epoch, sent);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: "forged" };
    }
    const issuedAtMs = parseInt(sent, 36) * 1000;
    if (this.#now() - issuedAtMs > this.#maxAgeMs) return { ok: false, reason: "expired" };
    return { ok: true, cursor, issuedAtMs };
  }

  #mac(subject: string, epoch: string, sent: string): Buffer {
    return createHmac("sha256", this.#secret)
      .update(`${PURPOSE}\0${subject}\0${epoch}\0${sent}`)
      .digest()
      .subarray(0, MAC_BYTES);
  }
}

/** The cursor part of an event id, signed (`<cursor>.<sent>.<mac>`) or plain. */
export function eventIdCursor(id: string): string {
  const dot = id.indexOf(".");
  return dot === -1 ? id : id.slice(0, dot);
}
