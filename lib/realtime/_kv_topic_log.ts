import { retryWhileBusy } from "../kv/mod.ts";
import { exceedsUtf8Bytes, utf8Bytes } from "../text/mod.ts";
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
 * What an idempotency key maps to: the event it published (kept as long as the
 * key, so a resend gets the original even after the log trimmed it), or, as
 * stored by earlier versions, just its offset.
 */
type StoredDedupe = TopicEvent | number;

interface Pending {
  data: unknown;
  size: number;
  key: string | undefined;
  resolve(event: PublishResult<unknown>): void;
  reject(error: unknown): void;
}

interface PendingQueue {
  items: Pending[];
  flushing: boolean;
}

/**
 * Takes the next batch within Deno KV's limits: ≤ 800 KiB and ≤ 1000 mutations
 * per atomic operation, and at most 10 checks (KV Connect's limit) — the head
 * plus up to 9 idempotency keys.
 */
function takeBatch(items: Pending[]): Pending[] {
  let bytes = 0;
  let keys = 0;
  let count = 0;
  for (const item of items) {
    if (count >= 200 || bytes + item.size > 600 * 1024) break;
    if (item.key && keys >= 9) break;
    if (item.key) keys += 1;
    bytes += item.size + 200;
    count += 1;
  }
  return items.splice(0, Math.max(1, count));
}

/** Topics whose head (or contention) this isolate remembers. */
const REMEMBERED_HEADS = 10_000;
/** After a remembered head turned out stale (another writer), read heads of that topic for this long. */
const CONTENDED_MS = 10_000;

/**
 * Topic logs in Deno KV. A publish is one atomic commit that checks the head's
 * versionstamp, writes the event under the next offset, moves the head and trims
 * by count; a conflict with a concurrent publisher (any isolate) retries.
 *
 * The head written by this isolate's last commit to a topic is remembered, so a
 * publish to an idle topic checks it without reading it first (one KV round
 * trip instead of two: lower latency). If another writer moved the head
 * meanwhile, the check fails, the head is read, and the topic is read-first for
 * a while. While a topic is busy, batches read the head as before: that read is
 * also the window in which the next batch gathers (fewer, larger commits).
 */
export class KvTopicLog implements TopicLog {
  #kv: Deno.Kv;
  #retention: Record<string, Partial<RetentionPolicy>>;
  #pending = new Map<string, PendingQueue>();
  /** Per topic: the head this isolate's last commit wrote, or until when to read heads first. */
  #heads = new Map<string, Deno.KvEntry<StoredHead> | { contendedUntil: number }>();

  constructor(kv: Deno.Kv, retention: Record<string, Partial<RetentionPolicy>> = {}) {
    this.#kv = kv;
    this.#retention = retention;
  }

  append<T>(topic: string, data: T, options: PublishOptions = {}): Promise<PublishResult<T>> {
    const json = JSON.stringify(data) ?? "";
    if (exceedsUtf8Bytes(json, MAX_EVENT_BYTES)) {
      return Promise.reject(
        new PublishError(
          "event_too_large",
          `Cannot publish to "${topic}": the event is ${
            utf8Bytes(json)
          } bytes, at most ${MAX_EVENT_BYTES}`,
        ),
      );
    }
    // For batching only: V8 stores a string in at most 2 bytes per UTF-16 code unit,
    // and an event with an idempotency key is stored twice (see #commitBatch).
    const size = json.length * 2 * (options.idempotencyKey ? 2 : 1);
    return new Promise((resolve, reject) => {
      let queue = this.#pending.get(topic);
      if (!queue) {
        queue = { items: [], flushing: false };
        this.#pending.set(topic, queue);
      }
      queue.items.push({ data, size, key: options.idempotencyKey, resolve, reject } as Pending);
      if (!queue.flushing) void this.#flush(topic, queue);
    });
  }

  /**
   * Group commit: publishes that arrive while a commit for the same topic is in
   * flight are written together in the next one (consecutive offsets, one atomic
   * operation), so a busy topic costs one KV round trip per batch, not per event.
   */
  async #flush(topic: string, queue: PendingQueue): Promise<void> {
    queue.flushing = true;
    try {
      let first = true;
      while (queue.items.length > 0) {
        const batch = takeBatch(queue.items);
        try {
          await this.#commitBatch(topic, batch, { mayTrustRememberedHead: first });
          first = false;
        } catch (error) {
          for (const item of batch) item.reject(error);
        }
      }
    } finally {
      queue.flushing = false;
      if (queue.items.length === 0) this.#pending.delete(topic);
    }
  }

  async #commitBatch(
    topic: string,
    batch: Pending[],
    options: { mayTrustRememberedHead: boolean },
  ): Promise<void> {
    const policy = retentionFor(topic, this.#retention);
    for (let attempt = 0;; attempt++) {
      const keyed = [...new Set(batch.flatMap((item) => item.key ? [item.key] : []))];
      const cached = options.mayTrustRememberedHead && attempt === 0 && keyed.length === 0
        ? this.#heads.get(topic)
        : undefined;
      const remembered = cached && "versionstamp" in cached ? cached : undefined;
      const [head, ...dedupes] = remembered
        ? [remembered]
        : await retryWhileBusy(() =>
          this.#kv.getMany<[StoredHead, ...StoredDedupe[]]>([
            headKey(topic),
            ...keyed.map((key) => dedupeKey(topic, key)),
          ])
        );
      const known = new Map<string, StoredDedupe>();
      dedupes.forEach((entry, index) => {
        if (entry?.value != null) known.set(keyed[index]!, entry.value as StoredDedupe);
      });
      let offset = head!.value?.offset ?? 0;
      const epoch = head!.value?.epoch ?? newEpoch();
      const time = Date.now();
      const operation = this.#kv.atomic().check(head!);
      const outcomes: Array<{ item: Pending; event?: TopicEvent; existing?: StoredDedupe }> = [];
      const assigned = new Map<string, TopicEvent>();
      for (const item of batch) {
        if (item.key && known.has(item.key)) {
          outcomes.push({ item, existing: known.get(item.key)! });
          continue;
        }
        const sameBatch = item.key ? assigned.get(item.key) : undefined;
        if (sameBatch) {
          outcomes.push({ item, existing: sameBatch });
          continue;
        }
        offset += 1;
        const event: TopicEvent = { topic, offset, epoch, time, data: item.data };
        operation.set(eventKey(topic, offset), event, { expireIn: policy.maxAgeMs });
        if (offset > policy.maxCount) operation.delete(eventKey(topic, offset - policy.maxCount));
        if (item.key) {
          assigned.set(item.key, event);
          operation.set(dedupeKey(topic, item.key), event, { expireIn: policy.maxAgeMs });
        }
        outcomes.push({ item, event });
      }
      for (const [index, key] of keyed.entries()) {
        if (!known.has(key)) operation.check(dedupes[index]!);
      }
      const moved = offset > (head!.value?.offset ?? 0);
      const newHead: StoredHead = { offset, epoch, time };
      if (moved) operation.set(headKey(topic), newHead);
      const result = await retryWhileBusy(() => operation.commit());
      if (!result.ok) {
        const seen = this.#heads.get(topic);
        if (remembered) this.#set(topic, { contendedUntil: Date.now() + CONTENDED_MS });
        else if (seen && "versionstamp" in seen) this.#heads.delete(topic);
        // Lost a race with a publisher on another isolate: back off with jitter and retry.
        if (attempt > 2) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
        }
        continue;
      }
      if (moved) {
        const seen = this.#heads.get(topic);
        const contended = seen && "contendedUntil" in seen && Date.now() < seen.contendedUntil;
        if (!contended) {
          this.#set(topic, {
            key: headKey(topic),
            value: newHead,
            versionstamp: result.versionstamp,
          });
        }
      }
      for (const outcome of outcomes) {
        if (outcome.event) {
          outcome.item.resolve({ ...outcome.event, duplicate: false });
          continue;
        }
        const existing = typeof outcome.existing === "number"
          ? (await this.#kv.get<TopicEvent>(eventKey(topic, outcome.existing))).value
          : outcome.existing;
        if (existing) outcome.item.resolve({ ...existing, duplicate: true });
        else {
          outcome.item.reject(
            new PublishError(
              "duplicate_expired",
              "An event with this id was published before and is no longer retained",
            ),
          );
        }
      }
      return;
    }
  }

  /** Remembers `value` for `topic` as the newest entry, forgetting the oldest past the bound. */
  #set(topic: string, value: Deno.KvEntry<StoredHead> | { contendedUntil: number }): void {
    this.#heads.delete(topic);
    this.#heads.set(topic, value);
    if (this.#heads.size > REMEMBERED_HEADS) this.#heads.delete(this.#heads.keys().next().value!);
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
