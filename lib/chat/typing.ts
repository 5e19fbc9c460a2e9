import { type Clock, systemClock, type TimerHandle } from "../clock/mod.ts";
import { TYPING_TIMEOUT_MS } from "./protocol.ts";

/** Who is typing where. */
export interface Typist {
  channelId: string;
  userId: string;
  username: string;
}

/** Options of {@linkcode TypingTracker}. */
export interface TypingTrackerOptions {
  /** Called for every change worth announcing (throttled refreshes, stops, expiries). */
  announce(typist: Typist, isTyping: boolean): void;
  /** A refresh of "typing" is announced at most this often per user and channel (default 1500 ms). */
  throttleMs?: number;
  /** Without a refresh for this long, typing stops by itself (default 5000 ms). */
  timeoutMs?: number;
  /** The time and the expiry timers (default {@linkcode systemClock}). */
  clock?: Clock;
}

interface Entry {
  typist: Typist;
  lastAnnounced: number;
  timer: TimerHandle;
}

/**
 * Typing state of the users connected to one isolate: throttles what they send
 * (a busy typist is announced at most once per `throttleMs`), stops typing that
 * is not refreshed within `timeoutMs`, and when the user sends a message.
 * Nothing is stored: announcements go out as ephemeral messages.
 */
export class TypingTracker implements Disposable {
  #entries = new Map<string, Entry>();
  #announce: TypingTrackerOptions["announce"];
  #throttleMs: number;
  #timeoutMs: number;
  #clock: Clock;

  constructor(options: TypingTrackerOptions) {
    this.#announce = options.announce;
    this.#throttleMs = options.throttleMs ?? 1500;
    this.#timeoutMs = options.timeoutMs ?? TYPING_TIMEOUT_MS;
    this.#clock = options.clock ?? systemClock;
  }

  /** Users typing now, per channel. */
  typing(channelId: string): string[] {
    return [...this.#entries.values()]
      .filter((entry) => entry.typist.channelId === channelId)
      .map((entry) => entry.typist.userId);
  }

  /** A `typing` frame. Returns true when it was announced (not throttled away). */
  update(typist: Typist, isTyping: boolean): boolean {
    const key = `${typist.channelId}\u0000${typist.userId}`;
    const entry = this.#entries.get(key);
    if (!isTyping) return this.#stop(key);
    const now = this.#clock.now();
    if (entry) {
      this.#clock.clearTimeout(entry.timer);
      entry.timer = this.#expiry(key);
      if (now - entry.lastAnnounced < this.#throttleMs) return false;
      entry.lastAnnounced = now;
      this.#announce(entry.typist, true);
      return true;
    }
    this.#entries.set(key, { typist, lastAnnounced: now, timer: this.#expiry(key) });
    this.#announce(typist, true);
    return true;
  }

  /** The user sent a message or left: typing stops (announced if they were typing). */
  stop(channelId: string, userId: string): boolean {
    return this.#stop(`${channelId}\u0000${userId}`);
  }

  #expiry(key: string): TimerHandle {
    return this.#clock.setTimeout(() => this.#stop(key), this.#timeoutMs);
  }

  #stop(key: string): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return false;
    this.#clock.clearTimeout(entry.timer);
    this.#entries.delete(key);
    this.#announce(entry.typist, false);
    return true;
  }

  [Symbol.dispose](): void {
    for (const entry of this.#entries.values()) this.#clock.clearTimeout(entry.timer);
    this.#entries.clear();
  }
}
