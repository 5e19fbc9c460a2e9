import { headKey } from "./_kv_topic_log.ts";
import type { Position } from "./types.ts";

const KEYS_PER_WATCH = 10;

interface Batch {
  topics: Set<string>;
  controller: AbortController | null;
  restartScheduled: boolean;
}

/**
 * Watches the heads of the topics this isolate has subscribers for, at most ten
 * keys per `kv.watch` call (Deno KV's limit). Watches coalesce, so a head seen
 * here may have moved several offsets: the callback gets the latest entry
 * (value and versionstamp; the value is null while the topic has none) and the
 * feed reads the missing range from KV. With `keyOf` it watches another key per
 * topic (the ephemeral mailbox) and hands over its entry as it is.
 */
export class HeadWatcher<V = Position> implements AsyncDisposable {
  #kv: Deno.Kv;
  #onHead: (topic: string, head: Deno.KvEntryMaybe<V>) => void;
  #onCountChanged: (watches: number) => void;
  #keyOf: (topic: string) => Deno.KvKey;
  #batches: Batch[] = [];
  #batchOf = new Map<string, Batch>();
  #disposed = false;

  constructor(
    kv: Deno.Kv,
    onHead: (topic: string, head: Deno.KvEntryMaybe<V>) => void,
    options: {
      onCountChanged?: (watches: number) => void;
      keyOf?: (topic: string) => Deno.KvKey;
    } = {},
  ) {
    this.#kv = kv;
    this.#onHead = onHead;
    this.#onCountChanged = options.onCountChanged ?? (() => {});
    this.#keyOf = options.keyOf ?? headKey;
  }

  /** Number of running watch streams. */
  get watchCount(): number {
    return this.#batches.filter((batch) => batch.controller !== null).length;
  }

  add(topic: string): void {
    if (this.#batchOf.has(topic) || this.#disposed) return;
    let batch = this.#batches.find((candidate) => candidate.topics.size < KEYS_PER_WATCH);
    if (!batch) {
      batch = { topics: new Set(), controller: null, restartScheduled: false };
      this.#batches.push(batch);
    }
    batch.topics.add(topic);
    this.#batchOf.set(topic, batch);
    this.#scheduleRestart(batch);
  }

  remove(topic: string): void {
    const batch = this.#batchOf.get(topic);
    if (!batch) return;
    this.#batchOf.delete(topic);
    batch.topics.delete(topic);
    this.#scheduleRestart(batch);
  }

  // Many subscriptions start at once (a reconnect storm): restart a batch once per tick.
  #scheduleRestart(batch: Batch): void {
    if (batch.restartScheduled) return;
    batch.restartScheduled = true;
    queueMicrotask(() => {
      batch.restartScheduled = false;
      batch.controller?.abort();
      batch.controller = null;
      if (batch.topics.size > 0 && !this.#disposed) {
        const controller = new AbortController();
        batch.controller = controller;
        void this.#run([...batch.topics], controller.signal);
      }
      this.#onCountChanged(this.watchCount);
    });
  }

  async #run(topics: string[], signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const stream = this.#kv.watch<V[]>(topics.map(this.#keyOf));
      const reader = stream.getReader();
      const cancel = () => reader.cancel().catch(() => {});
      signal.addEventListener("abort", cancel, { once: true });
      try {
        while (true) {
          const { value, done } = await reader.read();
          if (done || signal.aborted) break;
          value.forEach((entry, index) => {
            this.#onHead(topics[index]!, entry as Deno.KvEntryMaybe<V>);
          });
        }
      } catch {
        // The watch failed (KV busy or closing): retry shortly unless stopped.
      } finally {
        signal.removeEventListener("abort", cancel);
      }
      if (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true;
    for (const batch of this.#batches) batch.controller?.abort();
    this.#batches = [];
    this.#batchOf.clear();
    this.#onCountChanged(0);
    return Promise.resolve();
  }
}
