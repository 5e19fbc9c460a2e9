import { recordSpan, tracingEnabled } from "../observability/mod.ts";
import type { TopicLog } from "./_topic_log.ts";
import type { Position, TopicEvent } from "./types.ts";

/**
 * A subscription's wake-up: one long-lived object per subscription instead of a
 * promise and an abort listener per event (fan-out calls this per subscriber).
 */
export class Waker {
  #resolve: (() => void) | null = null;
  #pending = false;

  /** Resolves at the next `wake()` (at once if one came since the last wait). */
  wait(): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#resolve = resolve);
  }

  wake(): void {
    const resolve = this.#resolve;
    if (resolve) {
      this.#resolve = null;
      resolve();
    } else {
      this.#pending = true;
    }
  }
}

/**
 * One isolate's view of one topic while it has local subscribers: the highest
 * offset known to be stored (contiguously), a buffer of recent events, and a
 * wake-up for subscribers. Events arrive from local publishes, the
 * BroadcastChannel and head watches in any order and any number of times; only
 * the next offset is appended and gaps are read from the log, so every path
 * together yields each offset exactly once.
 */
export class TopicFeed {
  readonly topic: string;
  readonly ready: Promise<void>;
  /** Offsets up to here are stored and known to this isolate. */
  knownHead = 0;
  epoch: string | null = null;
  /** Local subscriptions holding this feed. */
  references = 0;
  #log: TopicLog;
  #buffer: TopicEvent[] = [];
  #bufferSize: number;
  #wakers = new Set<Waker>();
  #filling: Promise<void> = Promise.resolve();

  constructor(topic: string, log: TopicLog, options: { bufferSize?: number } = {}) {
    this.topic = topic;
    this.#log = log;
    this.#bufferSize = options.bufferSize ?? 512;
    this.ready = log.head(topic).then((head) => {
      if (this.epoch === null && head) {
        this.epoch = head.epoch;
        this.knownHead = Math.max(this.knownHead, head.offset);
      }
    });
    this.#filling = this.ready.catch(() => {});
  }

  /** Takes an event from any delivery path. */
  offer(event: TopicEvent): void {
    if (this.epoch === null && this.knownHead === 0 && event.offset === 1) {
      this.epoch = event.epoch;
    }
    if (event.epoch === this.epoch && event.offset === this.knownHead + 1) {
      this.#append(event);
    } else if (event.epoch !== this.epoch || event.offset > this.knownHead) {
      void this.advanceTo({ offset: event.offset, epoch: event.epoch });
    }
  }

  /** Makes sure every offset up to `position` is known, reading missing ones from the log. */
  advanceTo(position: Position): Promise<void> {
    // Known already (a head watch reporting what a publish or the BroadcastChannel
    // brought, a fan-out's many topics at once): nothing to chain.
    if (position.epoch === this.epoch && position.offset <= this.knownHead) return this.#filling;
    this.#filling = this.#filling.then(() => this.#fill(position)).catch(() => {});
    return this.#filling;
  }

  /** Buffered events `from..to` (inclusive), or null when the buffer does not reach back. */
  range(from: number, to: number): TopicEvent[] | null {
    const first = this.#buffer[0];
    if (!first || from < first.offset) return null;
    return this.#buffer.slice(from - first.offset, to - first.offset + 1);
  }

  /** Wakes `waker` on every change of `knownHead` or `epoch` until detached. */
  attach(waker: Waker): void {
    this.#wakers.add(waker);
  }

  detach(waker: Waker): void {
    this.#wakers.delete(waker);
  }

  #notify(): void {
    for (const waker of this.#wakers) waker.wake();
  }

  #append(event: TopicEvent): void {
    if (tracingEnabled()) {
      recordSpan("switchboard.deliver", {
        "topic.kind": this.topic.split(":", 1)[0] ?? "",
        "topic.offset": event.offset,
        "topic.subscribers": this.references,
        "delivery.lag_ms": Date.now() - event.time,
      });
    }
    this.#buffer.push(event);
    if (this.#buffer.length > this.#bufferSize) this.#buffer.shift();
    this.knownHead = event.offset;
    this.#notify();
  }

  async #fill(target: Position): Promise<void> {
    if (this.epoch !== null && target.epoch !== this.epoch) {
      const head = await this.#log.head(this.topic);
      if (!head || head.epoch === this.epoch) return; // a stale message from an old epoch
      this.epoch = head.epoch;
      this.knownHead = 0;
      this.#buffer = [];
      this.#notify();
      target = head;
    }
    this.epoch ??= target.epoch;
    while (this.knownHead < target.offset) {
      const events = await this.#log.read(this.topic, {
        after: this.knownHead,
        before: target.offset + 1,
        limit: 500,
      });
      const first = events[0];
      if (!first) {
        // Everything up to the target left retention: jump, subscribers see the gap.
        this.#buffer = [];
        this.knownHead = target.offset;
        this.#notify();
        return;
      }
      if (first.offset !== this.knownHead + 1) {
        this.#buffer = [];
        this.knownHead = first.offset - 1;
      }
      for (const event of events) {
        if (event.offset === this.knownHead + 1) this.#append(event);
      }
    }
  }
}
