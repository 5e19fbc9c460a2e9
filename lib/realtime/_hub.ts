import { TopicFeed, Waker } from "./_feed.ts";
import type { TopicLog } from "./_topic_log.ts";
import type { Position, SubscribeOptions, TopicEvent, TopicItem } from "./types.ts";

/** Hooks a broker uses to follow which topics have local subscribers. */
export interface HubHooks {
  opened?(topic: string): void;
  closed?(topic: string): void;
  resumed?(topic: string): void;
}

/** The subscriptions of one isolate, one feed per topic, shared by both brokers. */
export class TopicHub {
  #log: TopicLog;
  #feeds = new Map<string, TopicFeed>();
  #hooks: HubHooks;

  constructor(log: TopicLog, hooks: HubHooks = {}) {
    this.#log = log;
    this.#hooks = hooks;
  }

  /** Topics with local subscribers. */
  get topics(): string[] {
    return [...this.#feeds.keys()];
  }

  /** Each local feed: its topic, the highest offset delivered here, and its subscribers. */
  stats(): Array<{ topic: string; knownHead: number; subscribers: number }> {
    return [...this.#feeds.values()].map((feed) => ({
      topic: feed.topic,
      knownHead: feed.knownHead,
      subscribers: feed.references,
    }));
  }

  /** Hands an event from any delivery path to its feed (if anyone here listens). */
  offer(event: TopicEvent): void {
    this.#feeds.get(event.topic)?.offer(event);
  }

  /** A head position seen by a watch: the feed reads what it misses. */
  headMoved(topic: string, head: Position): void {
    void this.#feeds.get(topic)?.advanceTo(head);
  }

  #acquire(topic: string): TopicFeed {
    let feed = this.#feeds.get(topic);
    if (!feed) {
      feed = new TopicFeed(topic, this.#log);
      this.#feeds.set(topic, feed);
      this.#hooks.opened?.(topic);
    }
    feed.references += 1;
    return feed;
  }

  #release(feed: TopicFeed): void {
    feed.references -= 1;
    if (feed.references === 0 && this.#feeds.get(feed.topic) === feed) {
      this.#feeds.delete(feed.topic);
      this.#hooks.closed?.(feed.topic);
    }
  }

  /** Events after `since` (or from now on), in offset order, until the signal aborts. */
  async *subscribe<T>(topic: string, options: SubscribeOptions = {}): AsyncGenerator<TopicItem<T>> {
    const signal = options.signal;
    for await (const batch of this.subscribeBatches<T>(topic, options)) {
      for (const item of batch) {
        if (signal?.aborted) return;
        yield item;
      }
    }
  }

  /**
   * The same items as {@linkcode subscribe}, as arrays of whatever is ready at
   * each wake-up (up to 256 events, or one reset). A consumer that handles a
   * batch in one go (a connection's delivery loop) resumes once per batch
   * instead of once per event, which is what fan-out to many sockets costs most.
   */
  async *subscribeBatches<T>(
    topic: string,
    options: SubscribeOptions = {},
  ): AsyncGenerator<TopicItem<T>[]> {
    const signal = options.signal;
    const feed = this.#acquire(topic);
    const waker = new Waker();
    const wakeOnAbort = () => waker.wake();
    feed.attach(waker);
    signal?.addEventListener("abort", wakeOnAbort, { once: true });
    try {
      await feed.ready;
      let cursor = feed.knownHead;
      let epoch = feed.epoch;
      let known: Position | null = feed.epoch !== null
        ? { offset: feed.knownHead, epoch: feed.epoch }
        : null;
      let reset: TopicItem<T> | null = null;
      const since = options.since;
      if (
        since && feed.epoch !== null && since.offset <= feed.knownHead &&
        (since.epoch === "" || since.epoch === feed.epoch)
      ) {
        // The feed already knows the log reaches this far in this epoch: no read needed.
        this.#hooks.resumed?.(topic);
        cursor = since.offset;
        epoch = feed.epoch;
      } else if (since) {
        this.#hooks.resumed?.(topic);
        const head = await this.#log.head(topic);
        if (head && (!known || head.epoch !== known.epoch || head.offset > known.offset)) {
          known = head;
        }
        const sameEpoch = head !== null && (since.epoch === "" || since.epoch === head.epoch);
        if (head && sameEpoch && since.offset <= head.offset) {
          cursor = since.offset;
          epoch = head.epoch;
          if (head.offset > feed.knownHead) void feed.advanceTo(head);
        } else if (head || since.offset > 0) {
          // The position belongs to a log that no longer exists: start from its beginning.
          cursor = 0;
          epoch = head?.epoch ?? feed.epoch;
          reset = {
            kind: "reset",
            reason: "epoch_changed",
            from: { offset: 0, epoch: epoch ?? "" },
          };
          if (head && head.offset > feed.knownHead) void feed.advanceTo(head);
        }
      }
      options.onStart?.({
        from: { offset: cursor, epoch: epoch ?? feed.epoch ?? since?.epoch ?? "" },
        head: known,
      });
      if (reset) yield [reset];
      while (!signal?.aborted) {
        if (feed.epoch !== null && epoch !== null && feed.epoch !== epoch) {
          epoch = feed.epoch;
          cursor = 0;
          yield [{ kind: "reset", reason: "epoch_changed", from: { offset: 0, epoch } }];
          continue;
        }
        epoch ??= feed.epoch;
        const target = feed.knownHead;
        if (cursor >= target) {
          await waker.wait();
          continue;
        }
        const to = Math.min(target, cursor + 256);
        const batch = feed.range(cursor + 1, to) ??
          await this.#log.read<T>(topic, { after: cursor, before: to + 1, limit: 256 });
        const first = batch[0];
        if (!first || first.offset !== cursor + 1) {
          const resumeAfter = first ? first.offset - 1 : to;
          yield [{
            kind: "reset",
            reason: "too_far_behind",
            from: { offset: resumeAfter, epoch: epoch ?? "" },
          }];
          cursor = resumeAfter;
          continue;
        }
        const items: TopicItem<T>[] = [];
        for (const event of batch) {
          if (event.offset !== cursor + 1) break;
          cursor = event.offset;
          items.push({ kind: "event", event: event as TopicEvent<T> });
        }
        if (signal?.aborted) return;
        yield items;
      }
    } finally {
      feed.detach(waker);
      signal?.removeEventListener("abort", wakeOnAbort);
      this.#release(feed);
    }
  }
}
