import { retryWhileBusy } from "../kv/mod.ts";
import { historyLimit, newEpoch, type TopicLog } from "./_topic_log.ts";
import { retentionFor } from "./retention.ts";
import {
  type HistoryOptions,
  type Position,
  PublishError,
  type PublishOptions,
  type PublishResult,
  type RetentionPolicy,
  type TopicEvent,
} from "./types.ts";

/** KV keys of a topic. The head is what watches follow. */
export function headKey(topic: string): Deno.KvKey {
  return ["topics", topic, "head"];
}
function eventKey(topic: string, offset: number): Deno.KvKey {
  return ["topics", topic, "events", offset];
}
function dedupeKey(topic: string, key: string): Deno.KvKey {
  return ["topics", topic, "dedupe", key];
}

/** Deno KV leaves room for the envelope below its 64 KiB value limit. */
const MAX_EVENT_BYTES = 60 * 1024;

interface StoredHead {
  offset: number;
  epoch: string;
  time: number;
}

/**
 * Topic logs in Deno KV. A publish is one atomic commit that checks the head's
 * versionstamp, writes the event under the next offset, moves the head and trims
 * by count; a conflict with a concurrent publisher (any isolate) retries.
 */
export class KvTopicLog implements TopicLog {
  #kv: Deno.Kv;
  #retention: Record<string, Partial<RetentionPolicy>>;

  constructor(kv: Deno.Kv, retention: Record<string, Partial<RetentionPolicy>> = {}) {
    this.#kv = kv;
    this.#retention = retention;
  }

  async append<T>(topic: string, data: T, options: PublishOptions = {}): Promise<PublishResult<T>> {
    const policy = retentionFor(topic, this.#retention);
    const size = new TextEncoder().encode(JSON.stringify(data) ?? "").byteLength;
    if (size > MAX_EVENT_BYTES) {
      throw new PublishError(
        "event_too_large",
        `Cannot publish to "${topic}": the event is ${size} bytes, at most ${MAX_EVENT_BYTES}`,
      );
    }
    for (let attempt = 0;; attempt++) {
      const idempotencyKey = options.idempotencyKey;
      const [head, dedupe] = idempotencyKey
        ? await retryWhileBusy(() =>
          this.#kv.getMany<[StoredHead, number]>([headKey(topic), dedupeKey(topic, idempotencyKey)])
        )
        : [await retryWhileBusy(() => this.#kv.get<StoredHead>(headKey(topic))), null];
      if (dedupe?.value != null) {
        const existing = await this.#kv.get<TopicEvent<T>>(eventKey(topic, dedupe.value));
        if (existing.value) return { ...existing.value, duplicate: true };
      }
      const offset = (head.value?.offset ?? 0) + 1;
      const epoch = head.value?.epoch ?? newEpoch();
      const event: TopicEvent<T> = { topic, offset, epoch, time: Date.now(), data };
      const operation = this.#kv.atomic()
        .check(head)
        .set(headKey(topic), { offset, epoch, time: event.time } satisfies StoredHead)
        .set(eventKey(topic, offset), event, { expireIn: policy.maxAgeMs });
      if (offset > policy.maxCount) operation.delete(eventKey(topic, offset - policy.maxCount));
      if (idempotencyKey && dedupe) {
        operation.check(dedupe).set(dedupeKey(topic, idempotencyKey), offset, {
          expireIn: policy.maxAgeMs,
        });
      }
      const result = await retryWhileBusy(() => operation.commit());
      if (result.ok) return { ...event, duplicate: false };
      // Lost a race with another publisher: back off a little, with jitter, and retry.
      if (attempt > 2) await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
    }
  }

  async head(topic: string): Promise<Position | null> {
    const head = await retryWhileBusy(() => this.#kv.get<StoredHead>(headKey(topic)));
    return head.value ? { offset: head.value.offset, epoch: head.value.epoch } : null;
  }

  async read<T>(topic: string, options: HistoryOptions = {}): Promise<TopicEvent<T>[]> {
    const after = Math.max(0, options.after ?? 0);
    const start = eventKey(topic, after + 1);
    const end = options.before !== undefined
      ? eventKey(topic, options.before)
      : [...eventKey(topic, 0).slice(0, 3), Number.MAX_SAFE_INTEGER];
    if (options.before !== undefined && options.before <= after + 1) return [];
    const now = Date.now();
    const policy = retentionFor(topic, this.#retention);
    const events: TopicEvent<T>[] = [];
    const iterator = this.#kv.list<TopicEvent<T>>({ start, end }, {
      limit: historyLimit(options),
      reverse: options.reverse ?? false,
    });
    for await (const entry of iterator) {
      // expireIn is only the earliest deletion: re-check age on read.
      if (entry.value && now - entry.value.time <= policy.maxAgeMs) events.push(entry.value);
    }
    return events;
  }
}
