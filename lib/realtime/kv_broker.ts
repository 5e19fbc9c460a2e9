import { tracingEnabled, withSpan } from "../observability/mod.ts";
import { TopicHub } from "./_hub.ts";
import { HeadWatcher } from "./_head_watcher.ts";
import { type CommitReport, type KnownHead, KvTopicLog, type StoredHead } from "./_kv_topic_log.ts";

export type { CommitReport } from "./_kv_topic_log.ts";
import {
  appendToMailbox,
  EphemeralHub,
  ephemeralMessage,
  type Mailbox,
  mailboxKey,
} from "./_ephemeral.ts";
import type {
  Broker,
  EphemeralMessage,
  HistoryOptions,
  ListenOptions,
  Position,
  PublishOptions,
  PublishResult,
  RetentionPolicy,
  SubscribeOptions,
  TopicEvent,
  TopicItem,
} from "./types.ts";

function knownHead(entry: Deno.KvEntryMaybe<StoredHead>): KnownHead {
  return {
    offset: entry.value?.offset ?? 0,
    epoch: entry.value?.epoch ?? null,
    versionstamp: entry.versionstamp,
    window: entry.value?.window,
    bytes: entry.value?.bytes,
  };
}

function topicKind(topic: string): string {
  return topic.split(":", 1)[0] ?? "";
}

/** Options for {@linkcode KvBroker}. */
export interface KvBrokerOptions {
  /** Post each event on a BroadcastChannel (fast path between isolates of one process). Default true. */
  broadcastChannel?: boolean;
  /**
   * Watch the heads of subscribed topics with `kv.watch` (default true): the path
   * for events written by other processes and instances. A local KV file that one
   * process serves needs none when the BroadcastChannel is on, and its watches
   * cost the SQLite thread a read of every watched key after each commit.
   */
  watchHeads?: boolean;
  /** Channel name; isolates that should see each other's events use the same one. */
  channelName?: string;
  /** Per-kind retention overrides. */
  retention?: Record<string, Partial<RetentionPolicy>>;
  /** Called with counts for metrics. */
  onStats?: (stats: { feeds: number; watches: number }) => void;
  /** Called when a subscription resumes from a position. */
  onResume?: (topic: string) => void;
  /**
   * How far KV is (default "remote"): a local file takes a few large commits at a
   * time; a remote KV many concurrent ones, pipelined per busy topic.
   */
  kv?: "local" | "remote";
  /** Checks per atomic operation: 10 (KV Connect, the default) or 100 (a local file). */
  maxChecks?: number;
  /** Called after each topic-log commit attempt (metrics). */
  onCommit?: (commit: CommitReport) => void;
  /** KV commits in flight at once (default by `kv`). */
  commitsInFlight?: number;
  /** KV commits in flight per topic (default by `kv`). */
  pipelineDepth?: number;
}

/**
 * What one BroadcastChannel message carries: events, and heads (written by their
 * commits, or read), so the next publish on any isolate checks the head without
 * reading it first.
 */
interface Posted {
  events: TopicEvent[];
  heads: (KnownHead & { topic: string })[];
}

/**
 * The broker for real use: topic logs in Deno KV, delivered to subscribers on
 * every isolate and instance. Two paths carry events between isolates: a
 * BroadcastChannel post (fast, same process only) and `kv.watch` on topic heads
 * (works on Deno Deploy and self-hosted denokv). Deliveries are keyed by offset,
 * so whichever path arrives first, subscribers see no duplicate and no gap.
 *
 * Ephemeral messages skip the log: each topic has a small KV mailbox of the
 * last few seconds' messages (it expires when the topic falls silent) that
 * every isolate with listeners watches; ids make each arrive once.
 */
export class KvBroker implements Broker {
  #kv: Deno.Kv;
  #log: KvTopicLog;
  #hub: TopicHub;
  #watcher: HeadWatcher<StoredHead>;
  #watchHeads: boolean;
  #ephemeral: EphemeralHub;
  #mailboxWatcher: HeadWatcher<Mailbox>;
  #channel: BroadcastChannel | null = null;
  #outbox: Posted | null = null;
  #onStats: NonNullable<KvBrokerOptions["onStats"]>;

  constructor(kv: Deno.Kv, options: KvBrokerOptions = {}) {
    this.#kv = kv;
    this.#watchHeads = options.watchHeads ?? true;
    this.#log = new KvTopicLog(kv, {
      retention: options.retention,
      inFlight: options.commitsInFlight,
      pipelineDepth: options.pipelineDepth,
      onCommit: options.onCommit,
      maxChecks: options.maxChecks,
      kv: options.kv,
      onHeadsWritten: (heads) => this.#post({ events: [], heads }),
      onHeadRead: (topic, head) => this.#post({ events: [], heads: [{ topic, ...head }] }),
    });
    this.#mailboxWatcher = new HeadWatcher<Mailbox>(kv, (_topic, mailbox) => {
      for (const message of mailbox.value?.messages ?? []) this.#ephemeral.offer(message);
    }, { keyOf: mailboxKey });
    this.#ephemeral = new EphemeralHub({
      opened: (topic) => this.#mailboxWatcher.add(topic),
      closed: (topic) => this.#mailboxWatcher.remove(topic),
    });
    this.#onStats = options.onStats ?? (() => {});
    this.#watcher = new HeadWatcher<StoredHead>(kv, (topic, head) => {
      this.#log.learnHead(topic, knownHead(head));
      if (head.value) this.#hub.headMoved(topic, head.value);
    }, { onCountChanged: () => this.#reportStats() });
    this.#hub = new TopicHub(this.#log, {
      opened: (topic) => {
        if (this.#watchHeads) this.#watcher.add(topic);
        this.#reportStats();
      },
      closed: (topic) => {
        this.#watcher.remove(topic);
        this.#reportStats();
      },
      resumed: options.onResume,
    });
    if (options.broadcastChannel ?? true) {
      this.#channel = new BroadcastChannel(options.channelName ?? "switchboard:topics");
      this.#channel.onmessage = (message: MessageEvent<Posted>) => {
        // Heads first: a publish prompted by one of these events then checks the new head.
        for (const head of message.data.heads) this.#log.learnHead(head.topic, head);
        for (const event of message.data.events) this.#hub.offer(event);
      };
    }
  }

  #reportStats(): void {
    this.#onStats({ feeds: this.#hub.topics.length, watches: this.#watcher.watchCount });
  }

  publish<T>(topic: string, data: T, options?: PublishOptions): Promise<PublishResult<T>> {
    // Without tracing, no span wrapper: a fan-out publishes to a thousand topics at once.
    if (!tracingEnabled()) return this.#publish(topic, data, options);
    return withSpan("switchboard.publish", { "topic.kind": topicKind(topic) }, async (span) => {
      const event = await this.#publish(topic, data, options);
      span.setAttributes({ "topic.offset": event.offset, "topic.duplicate": event.duplicate });
      return event;
    });
  }

  async #publish<T>(topic: string, data: T, options?: PublishOptions): Promise<PublishResult<T>> {
    const event = await this.#log.append(topic, data, options);
    if (!event.duplicate) {
      const { duplicate: _, ...plain } = event;
      this.#hub.offer(plain);
      this.#post({ events: [plain], heads: [] });
    }
    return event;
  }

  /**
   * Posts events (and the heads their commits wrote) to the other isolates, one
   * message per microtask: a group commit resolves its publishes together, so a
   * batch costs one structured clone, not one per event. (Not deferred to a later
   * turn of the event loop: chat's cross-isolate latency would pay for it.)
   */
  #post(posted: Posted): void {
    if (!this.#channel) return;
    if (this.#outbox) {
      this.#outbox.events.push(...posted.events);
      this.#outbox.heads.push(...posted.heads);
      return;
    }
    this.#outbox = { events: [...posted.events], heads: [...posted.heads] };
    queueMicrotask(() => {
      const message = this.#outbox;
      this.#outbox = null;
      if (message) this.#channel?.postMessage(message);
    });
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

  async publishEphemeral<T>(topic: string, data: T): Promise<EphemeralMessage<T>> {
    const message = ephemeralMessage(topic, data);
    this.#ephemeral.offer(message);
    await appendToMailbox(this.#kv, message);
    return message;
  }

  listenEphemeral<T>(topic: string, options?: ListenOptions): AsyncIterable<EphemeralMessage<T>> {
    return this.#ephemeral.listen<T>(topic, options);
  }

  /** This isolate's feeds, most subscribed first (for the admin dashboard). */
  stats(): Array<{ topic: string; knownHead: number; subscribers: number }> {
    return this.#hub.stats().sort((a, b) => b.subscribers - a.subscribers);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#channel?.close();
    this.#channel = null;
    await this.#watcher[Symbol.asyncDispose]();
    await this.#mailboxWatcher[Symbol.asyncDispose]();
  }
}
