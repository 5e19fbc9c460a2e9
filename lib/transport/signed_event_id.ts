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
}

/** What {@linkcode EventIdSigner.verify} answers. */
export type EventIdCheck =
  | { ok: true; cursor: string; issuedAtMs: number }
  | { ok: false; reason: "malformed" | "forged" | "expired" };

// Keeps these MACs apart from anything else the server secret signs.
const PURPOSE = "switchboard.sse-event-id.v1";
const MAC_BYTES = 16;

/**
 * SSE event ids that authenticate a resume: `<cursor>.<sent>.<mac>`, where the
 * MAC (HMAC-SHA256 with the server secret, 128 bits) binds the cursor and the
 * time it was sent to one subject (the user). EventSource sends the last id back
 * by itself as `Last-Event-ID` when it reconnects with the same URL, whose
 * single-use token is spent by then: a valid id issued to the token's user lets
 * that reconnect resume without a new token.
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

  constructor(secret: string, options: EventIdSignerOptions = {}) {
    this.#secret = secret;
    this.#now = options.now ?? Date.now;
    this.#maxAgeMs = options.maxAgeMs ?? EVENT_ID_MAX_AGE_MS;
  }

  /** The event id of `cursor` for `subject`, sent now. */
  sign(subject: string, cursor: string): string {
    const sent = Math.floor(this.#now() / 1000).toString(36);
    return `${cursor}.${sent}.${this.#mac(subject, cursor, sent).toString("base64url")}`;
  }

  /** Checks an id against `subject`: its cursor when the MAC holds and it is recent enough. */
  verify(subject: string, id: string): EventIdCheck {
    const parts = id.split(".");
    if (parts.length !== 3) return { ok: false, reason: "malformed" };
    const [cursor, sent, mac] = parts as [string, string, string];
    if (!parseCursor(cursor) || !/^[0-9a-z]{1,10}$/.test(sent) || mac.length > 64) {
      return { ok: false, reason: "malformed" };
    }
    const given = Buffer.from(mac, "base64url");
    const expected = this.#mac(subject, cursor, sent);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: "forged" };
    }
    const issuedAtMs = parseInt(sent, 36) * 1000;
    if (this.#now() - issuedAtMs > this.#maxAgeMs) return { ok: false, reason: "expired" };
    return { ok: true, cursor, issuedAtMs };
  }

  #mac(subject: string, cursor: string, sent: string): Buffer {
    return createHmac("sha256", this.#secret)
      .update(`${PURPOSE}\0${subject}\0${cursor}\0${sent}`)
      .digest()
      .subarray(0, MAC_BYTES);
  }
}

/** The cursor part of an event id, signed (`<cursor>.<sent>.<mac>`) or plain. */
export function eventIdCursor(id: string): string {
  const dot = id.indexOf(".");
  return dot === -1 ? id : id.slice(0, dot);
}
