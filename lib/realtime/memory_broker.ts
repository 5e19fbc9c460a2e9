import { historyLimit, newEpoch, type TopicLog } from "./_topic_log.ts";
import { TopicHub } from "./_hub.ts";
import { EphemeralHub, ephemeralMessage } from "./_ephemeral.ts";
import { retentionFor } from "./retention.ts";
import {
  type Broker,
  countInWindow,
  type EphemeralMessage,
  type HistoryOptions,
  type ListenOptions,
  type Position,
  PublishError,
  type PublishOptions,
  type PublishResult,
  type PublishWindow,
  type RetentionPolicy,
  type SubscribeOptions,
  type TopicEvent,
  type TopicItem,
} from "./types.ts";

interface MemoryTopic {
  epoch: string;
  head: number;
  events: TopicEvent[];
  dedupe: Map<string, TopicEvent>;
  window: PublishWindow | undefined;
  bytes: number;
}

class MemoryTopicLog implements TopicLog {
  topics = new Map<string, MemoryTopic>();
  #retention: Record<string, Partial<RetentionPolicy>>;

  constructor(retention: Record<string, Partial<RetentionPolicy>>) {
    this.#retention = retention;
  }

  append<T>(topic: string, data: T, options: PublishOptions = {}): Promise<PublishResult<T>> {
    if (options.writes) {
      return Promise.reject(new TypeError("KV writes with an event need a KvBroker"));
    }
    let state = this.topics.get(topic);
    if (!state) {
      state = {
        epoch: newEpoch(),
        head: 0,
        events: [],
        dedupe: new Map(),
        window: undefined,
        bytes: 0,
      };
      this.topics.set(topic, state);
    }
    const existing = options.idempotencyKey ? state.dedupe.get(options.idempotencyKey) : undefined;
    if (existing) return Promise.resolve({ ...(existing as TopicEvent<T>), duplicate: true });
    const bytes = new TextEncoder().encode(JSON.stringify(data) ?? "").byteLength;
    if (
      options.quota &&
      (state.head + 1 > options.quota.events || state.bytes + bytes > options.quota.bytes)
    ) {
      return Promise.reject(
        new PublishError("quota_exceeded", `"${topic}" is over its quota`),
      );
    }
    if (options.perMinute !== undefined) {
      const counted = countInWindow(state.window, Date.now(), options.perMinute);
      if (counted.window === null) {
        return Promise.reject(
          new PublishError(
            "rate_limited",
            `"${topic}" already took ${options.perMinute} publishes this minute`,
            counted.retryAfterSeconds,
          ),
        );
      }
      state.window = counted.window;
    }
    state.head += 1;
    state.bytes += bytes;
    const event: TopicEvent<T> = {
      topic,
      offset: state.head,
      epoch: state.epoch,
      time: Date.now(),
      data: structuredClone(data),
    };
    state.events.push(event);
    const { maxCount } = retentionFor(topic, this.#retention);
    if (state.events.length > maxCount) state.events.splice(0, state.events.length - maxCount);
    if (options.idempotencyKey) state.dedupe.set(options.idempotencyKey, event);
    return Promise.resolve({ ...event, duplicate: false });
  }

  head(topic: string): Promise<Position | null> {
    const state = this.topics.get(topic);
    return Promise.resolve(state ? { offset: state.head, epoch: state.epoch } : null);
  }

  read<T>(topic: string, options: HistoryOptions = {}): Promise<TopicEvent<T>[]> {
    const state = this.topics.get(topic);
    if (!state) return Promise.resolve([]);
    const after = options.after ?? 0;
    const before = options.before ?? Infinity;
    let events = state.events.filter((event) => event.offset > after && event.offset < before);
    if (options.reverse) events = events.reverse();
    return Promise.resolve(events.slice(0, historyLimit(options)) as TopicEvent<T>[]);
  }
}

/**
 * A broker in memory, for unit tests and single-process tools: the same
 * semantics as {@linkcode KvBroker} within one isolate.
 */
export class MemoryBroker implements Broker {
  #log: MemoryTopicLog;
  #hub: TopicHub;
  #ephemeral = new EphemeralHub();

  constructor(options: { retention?: Record<string, Partial<RetentionPolicy>> } = {}) {
    this.#log = new MemoryTopicLog(options.retention ?? {});
    this.#hub = new TopicHub(this.#log);
  }

  async publish<T>(topic: string, data: T, options?: PublishOptions): Promise<PublishResult<T>> {
    const event = await this.#log.append(topic, data, options);
    if (!event.duplicate) this.#hub.offer(event);
    return event;
  }

  subscribe<T>(topic: string, options?: SubscribeOptions): AsyncIterable<TopicItem<T>> {
    return this.#hub.subscribe<T>(topic, options);
  }

  subscribeBatches<T>(
    topic: string,
    options?: SubscribeOptions,
  ): AsyncIterable<TopicItem<T>[]> {
    return this.#hub.subscribeBatches<T>(topic, options);
  }

  history<T>(topic: string, options?: HistoryOptions): Promise<TopicEvent<T>[]> {
    return this.#log.read<T>(topic, options);
  }

  head(topic: string): Promise<Position | null> {
    return this.#log.head(topic);
  }

  publishEphemeral<T>(topic: string, data: T): Promise<EphemeralMessage<T>> {
    try {
      const message = ephemeralMessage(topic, structuredClone(data));
      this.#ephemeral.offer(message);
      return Promise.resolve(message);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  listenEphemeral<T>(topic: string, options?: ListenOptions): AsyncIterable<EphemeralMessage<T>> {
    return this.#ephemeral.listen<T>(topic, options);
  }

  /** Starts a topic's log over in a new epoch (for tests of epoch handling). */
  resetTopic(topic: string): void {
    this.#log.topics.delete(topic);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}
