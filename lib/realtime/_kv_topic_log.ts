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

/** What one publish of a committed batch gets: its new event, or the stored one it duplicates. */
interface Outcome {
  item: Pending;
  event?: TopicEvent;
  existing?: StoredDedupe;
}

interface Pending {
  data: unknown;
  size: number;
  key: string | undefined;
  resolve(event: PublishResult<unknown>): void;
  reject(error: unknown): void;
}

/** One topic's part of a group commit. */
interface TopicBatch {
  topic: string;
  items: Pending[];
  /** May check the head this isolate remembers instead of reading it (see KvTopicLog). */
  mayTrustRememberedHead: boolean;
}

/**
 * Deno KV's limits per atomic operation: ≤ 800 KiB and ≤ 1000 mutations, and
 * at most 10 checks (KV Connect's limit). A group keeps below them: each topic
 * costs a head check plus one per idempotency key, and each event a write, a
 * trim and, with a key, its copy.
 */
const GROUP_CHECKS = 10;
const GROUP_MUTATIONS = 1000;
const GROUP_BYTES = 600 * 1024;
/** Events of one topic per commit. */
const BATCH_EVENTS = 200;
/**
 * Commits in flight at once. Topics ready while all are in flight are written
 * together in the next one (one commit for several topics): a KV commit has a
 * large fixed cost, so under load this saves more than more parallel commits.
 */
const COMMITS_IN_FLIGHT = 4;

/** How many of `items` (from the front) the next batch of their topic takes. */
function batchLength(items: Pending[]): { count: number; bytes: number; keys: number } {
  let bytes = 0;
  let keys = 0;
  let count = 0;
  for (const item of items) {
    if (count >= BATCH_EVENTS || bytes + item.size > GROUP_BYTES) break;
    if (item.key && keys >= GROUP_CHECKS - 1) break;
    if (item.key) keys += 1;
    bytes += item.size + 200;
    count += 1;
  }
  if (count === 0) return { count: 1, bytes: items[0]!.size + 200, keys: items[0]!.key ? 1 : 0 };
  return { count, bytes, keys };
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
 * Group commit: publishes that arrive while their topic's commit is in flight
 * are written together in its next one (consecutive offsets), and when every
 * commit slot is busy, the batches of several topics share one atomic
 * operation, each checked against its own head. If a shared commit keeps
 * conflicting, its topics are committed one by one.
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
  /** Publishes not yet in a commit, per topic. */
  #queues = new Map<string, Pending[]>();
  /** Topics with queued publishes and no commit in flight, in arrival order; true: busy streak. */
  #ready = new Map<string, boolean>();
  /** Topics with a commit in flight. */
  #committing = new Set<string>();
  #inFlight = 0;
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
    // and an event with an idempotency key is stored twice (see #write).
    const size = json.length * 2 * (options.idempotencyKey ? 2 : 1);
    return new Promise((resolve, reject) => {
      let queue = this.#queues.get(topic);
      if (!queue) {
        queue = [];
        this.#queues.set(topic, queue);
      }
      queue.push({ data, size, key: options.idempotencyKey, resolve, reject } as Pending);
      if (!this.#committing.has(topic) && !this.#ready.has(topic)) this.#ready.set(topic, false);
      this.#pump();
    });
  }

  /** Starts commits while slots are free, each taking as many ready topics as fit. */
  #pump(): void {
    while (this.#inFlight < COMMITS_IN_FLIGHT && this.#ready.size > 0) {
      const group = this.#takeGroup();
      this.#inFlight += 1;
      void this.#commitGroup(group).finally(() => {
        this.#inFlight -= 1;
        for (const { topic } of group) {
          this.#committing.delete(topic);
          if (this.#queues.get(topic)?.length) this.#ready.set(topic, true);
          else this.#queues.delete(topic);
        }
        this.#pump();
      });
    }
  }

  /** The next commit's batches: ready topics in arrival order, as many as Deno KV's limits allow. */
  #takeGroup(): TopicBatch[] {
    const group: TopicBatch[] = [];
    let checks = 0;
    let mutations = 0;
    let bytes = 0;
    for (const [topic, busy] of this.#ready) {
      const queue = this.#queues.get(topic)!;
      const next = batchLength(queue);
      const cost = { checks: 1 + next.keys, mutations: 2 * next.count + next.keys + 1 };
      if (
        group.length > 0 && (checks + cost.checks > GROUP_CHECKS ||
          mutations + cost.mutations > GROUP_MUTATIONS || bytes + next.bytes > GROUP_BYTES)
      ) break;
      checks += cost.checks;
      mutations += cost.mutations;
      bytes += next.bytes;
      this.#ready.delete(topic);
      this.#committing.add(topic);
      group.push({ topic, items: queue.splice(0, next.count), mayTrustRememberedHead: !busy });
    }
    return group;
  }

  /** Commits a group; a group that keeps conflicting is split into one commit per topic. */
  async #commitGroup(group: TopicBatch[]): Promise<void> {
    try {
      const maxAttempts = group.length > 1 ? 2 : Infinity;
      if (await this.#commit(group, maxAttempts)) return;
      for (const batch of group) {
        await this.#commit([{ ...batch, mayTrustRememberedHead: false }], Infinity);
      }
    } catch (error) {
      for (const batch of group) for (const item of batch.items) item.reject(error);
    }
  }

  /**
   * One atomic operation for the batches of `group`, retried on conflict up to
   * `maxAttempts` times; false if it still conflicted (nothing was resolved).
   */
  async #commit(group: TopicBatch[], maxAttempts: number): Promise<boolean> {
    /** Topics whose remembered head (this versionstamp) was checked by a commit that conflicted. */
    const staleSuspects = new Map<string, string>();
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const plans = group.map((batch) => {
        const keyed = [...new Set(batch.items.flatMap((item) => item.key ? [item.key] : []))];
        const cached = batch.mayTrustRememberedHead && attempt === 0 && keyed.length === 0
          ? this.#heads.get(batch.topic)
          : undefined;
        const remembered = cached && "versionstamp" in cached ? cached : undefined;
        return { batch, keyed, remembered };
      });
      const toRead = plans.flatMap((plan) =>
        plan.remembered ? [] : [
          headKey(plan.batch.topic),
          ...plan.keyed.map((key) => dedupeKey(plan.batch.topic, key)),
        ]
      );
      const read = toRead.length > 0
        ? await retryWhileBusy(() => this.#kv.getMany<unknown[]>(toRead))
        : [];
      let at = 0;
      const operation = this.#kv.atomic();
      const time = Date.now();
      const prepared = plans.map(({ batch, keyed, remembered }) => {
        const head = (remembered ?? read[at++]!) as Deno.KvEntryMaybe<StoredHead>;
        const dedupes = remembered
          ? []
          : keyed.map(() => read[at++]! as Deno.KvEntryMaybe<StoredDedupe>);
        const suspect = staleSuspects.get(batch.topic);
        if (suspect !== undefined && suspect !== head.versionstamp) {
          this.#markContended(batch.topic);
        }
        staleSuspects.delete(batch.topic);
        return { ...this.#write(operation, batch, head, keyed, dedupes, time), batch, remembered };
      });
      const result = await retryWhileBusy(() => operation.commit());
      if (!result.ok) {
        for (const { batch, remembered } of prepared) {
          // Stale, or (in a group) another topic's conflict: the re-read of the next attempt tells.
          if (remembered) staleSuspects.set(batch.topic, remembered.versionstamp);
          else this.#forget(batch.topic);
        }
        // Lost a race with a publisher on another isolate: back off with jitter and retry.
        if (attempt > 2) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
        }
        continue;
      }
      for (const { batch, newHead } of prepared) {
        if (!newHead) continue;
        const seen = this.#heads.get(batch.topic);
        const contended = seen && "contendedUntil" in seen && Date.now() < seen.contendedUntil;
        if (!contended) {
          this.#set(batch.topic, {
            key: headKey(batch.topic),
            value: newHead,
            versionstamp: result.versionstamp,
          });
        }
      }
      for (const { batch, outcomes } of prepared) await this.#settle(batch.topic, outcomes);
      return true;
    }
    for (const topic of staleSuspects.keys()) this.#markContended(topic);
    return false;
  }

  /** Reads the heads of `topic` first for a while: another writer moved it. */
  #markContended(topic: string): void {
    this.#set(topic, { contendedUntil: Date.now() + CONTENDED_MS });
  }

  /** Forgets the remembered head of `topic` (not a contention mark). */
  #forget(topic: string): void {
    const seen = this.#heads.get(topic);
    if (seen && "versionstamp" in seen) this.#heads.delete(topic);
  }

  /**
   * Adds one topic's batch to `operation`: a check of its head and of its new
   * idempotency keys, its events under the next offsets, trims, and the moved
   * head (null if nothing new is written).
   */
  #write(
    operation: Deno.AtomicOperation,
    batch: TopicBatch,
    head: Deno.KvEntryMaybe<StoredHead>,
    keyed: string[],
    dedupes: Deno.KvEntryMaybe<StoredDedupe>[],
    time: number,
  ): { outcomes: Outcome[]; newHead: StoredHead | null } {
    const { topic } = batch;
    const policy = retentionFor(topic, this.#retention);
    const known = new Map<string, StoredDedupe>();
    dedupes.forEach((entry, index) => {
      if (entry?.value != null) known.set(keyed[index]!, entry.value);
    });
    let offset = head.value?.offset ?? 0;
    const epoch = head.value?.epoch ?? newEpoch();
    operation.check(head);
    const outcomes: Outcome[] = [];
    const assigned = new Map<string, TopicEvent>();
    for (const item of batch.items) {
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
    if (offset === (head.value?.offset ?? 0)) return { outcomes, newHead: null };
    const newHead: StoredHead = { offset, epoch, time };
    operation.set(headKey(topic), newHead);
    return { outcomes, newHead };
  }

  /** Resolves the publishes of a committed batch: new events, or the originals of duplicates. */
  async #settle(topic: string, outcomes: Outcome[]): Promise<void> {
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
