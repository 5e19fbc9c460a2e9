import { monotonicIds } from "../ids/mod.ts";
import { z } from "zod";
import { type EventWrites, retentionFor } from "../realtime/mod.ts";
import { utf8Bytes } from "../text/mod.ts";
import {
  aliasKey,
  deliveredKey,
  deliveryRowKey,
  deliveryShardPrefix,
  DUE_PREFIX,
  dueKey,
  leaseKey,
  LOG_PREFIX,
  logKey,
  pendingKey,
  pendingPrefix,
  preferencesKey,
  recordKey,
  recordPrefix,
} from "./_keys.ts";
import { NotificationError } from "./errors.ts";
import {
  type NotificationRecord,
  notificationRecordSchema,
  type NotificationStatus,
  type Preferences,
  preferencesSchema,
} from "./record.ts";

/** How long this isolate reuses preferences it read for publishing without reading them again. */
const PREFERENCES_CACHE_MS = 2000;
/**
 * Until this age, preferences past {@linkcode PREFERENCES_CACHE_MS} are still used
 * while a read in the background renews them, so a steady stream of publishes
 * never waits for that read; older ones are read first.
 */
const PREFERENCES_STALE_MS = 10_000;
/** Users whose preferences this isolate keeps at most. */
const PREFERENCES_CACHED = 50_000;
/** Shards of a publish's delivery rows: a user's mark is read from one (a few small rows). */
const DELIVERY_SHARDS = 16;
/** Users per delivery row: user ids are at most 64 characters, a row stays far below 64 KiB. */
const USERS_PER_ROW = 400;
/** Bytes of delivery rows per commit (Deno KV takes 800 KiB per atomic operation). */
const DELIVERY_COMMIT_BYTES = 400 * 1024;
/** What a generated notification id (a publish's `seq`) looks like: a ULID. */
const GENERATED_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Options of {@linkcode NotificationStore}. */
export interface NotificationStoreOptions {
  /** How long records are kept (default: the retention of `user:` topics, 30 days). */
  maxAgeMs?: number;
  /** Records kept per user; older ones are trimmed (default 1000). */
  maxHistory?: number;
  /** The clock of the preferences cache (default `Date.now`; tests inject one). */
  now?: () => number;
}

/** What {@linkcode NotificationStore.prepare} stores. */
export interface CreateInput {
  userId: string;
  /** The notification's id: the publisher's, or (when it gave none) `seq`. */
  id: string;
  /** The publish's time-ordered id (see {@linkcode newSeq}); orders history and the audit log. */
  seq: string;
  type: string;
  data: Record<string, unknown>;
  /** UTF-8 bytes of `data` as JSON, when the caller knows them (a fan-out measures once). */
  dataBytes?: number;
  requiresAck: boolean;
  /** The user muted it: stored with status `muted`, never pushed or re-sent. Default false. */
  muted?: boolean;
  /** Milliseconds since the epoch (default now). */
  now?: number;
  /** For `requiresAck`: who drives the retries, when the first re-send is due, and the lease end. */
  retry?: { owner: string; firstAt: number; leaseUntil: number } | undefined;
}

/** A lease on driving one notification's retries. */
export interface RetryLease {
  owner: string;
  expiresAt: number;
}

const leaseSchema = z.object({ owner: z.string(), expiresAt: z.number() });

/** The outcome of one step of the retry driver against the store. */
export type RetryStepResult =
  | { outcome: "recorded"; record: NotificationRecord }
  | { outcome: "stopped"; record: NotificationRecord | null }
  | { outcome: "lost" };

const nextSeq = monotonicIds();

/**
 * A new publish's `seq`: a ULID, strictly increasing within this isolate. Every
 * recipient of one publish shares it (a user gets a publish once).
 */
export function newSeq(now: number = Date.now()): string {
  return nextSeq(now);
}

let lastIso: { ms: number; text: string } = { ms: NaN, text: "" };
/** ISO 8601 of `ms`; a fan-out formats the same instant for every user, so the last one is kept. */
function iso(ms: number): string {
  if (lastIso.ms !== ms) lastIso = { ms, text: new Date(ms).toISOString() };
  return lastIso.text;
}

/**
 * The fields a new record always starts with: {@linkcode NotificationStore.prepare}
 * stores a record without those still at these values (and without `sentAt` when
 * it is the `timestamp`), so a fan-out writes about a third fewer bytes per
 * recipient; {@linkcode parseRecord} puts them back.
 */
const RECORD_DEFAULTS = {
  read: false,
  readAt: null,
  deliveredAt: null,
  acknowledged: false,
  acknowledgedAt: null,
  retryCount: 0,
  lastRetryAt: null,
  nextRetryAt: null,
} as const satisfies Partial<NotificationRecord>;

/** A new record as stored: fields at their defaults left out (see {@linkcode RECORD_DEFAULTS}). */
function compactRecord(record: NotificationRecord): Record<string, unknown> {
  const stored: Record<string, unknown> = {};
  const defaults: Record<string, unknown> = RECORD_DEFAULTS;
  for (const field in record) {
    const value = record[field as keyof NotificationRecord];
    if (field in defaults && defaults[field] === value) continue;
    if (field === "sentAt" && value === record.timestamp) continue;
    stored[field] = value;
  }
  return stored;
}

function parseRecord(value: unknown): NotificationRecord | null {
  if (typeof value !== "object" || value === null) return null;
  const stored = value as Record<string, unknown>;
  const parsed = notificationRecordSchema.safeParse({
    ...RECORD_DEFAULTS,
    ...stored,
    sentAt: "sentAt" in stored ? stored.sentAt : stored.timestamp,
  });
  return parsed.success ? parsed.data : null;
}

/** The shard of a user's delivery marks (FNV-1a of the id). */
function deliveryShard(userId: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < userId.length; index++) {
    hash = Math.imul(hash ^ userId.charCodeAt(index), 0x01000193);
  }
  return (hash >>> 0) % DELIVERY_SHARDS;
}

/** The later of two delivery marks (ISO times; anything else is no mark). */
function laterMark(a: unknown, b: unknown): string | null {
  const first = typeof a === "string" ? a : null;
  const second = typeof b === "string" ? b : null;
  if (first === null) return second;
  if (second === null) return first;
  return first > second ? first : second;
}

/** A record with its delivery mark (kept in its own key) folded in. */
function withDelivery(record: NotificationRecord, delivered: unknown): NotificationRecord {
  if (record.deliveredAt !== null || typeof delivered !== "string") return record;
  return {
    ...record,
    deliveredAt: delivered,
    status: record.status === "pending" ? "delivered" : record.status,
  };
}

/** A record as read, with the entry a change of it checks. */
interface Found {
  record: NotificationRecord;
  entry: Deno.KvEntryMaybe<unknown>;
}

/**
 * Per-user notification records in Deno KV. A user's records are keyed by the
 * publish's time-ordered `seq`, so listing them is their history; a record holds
 * the notification and its read, delivery, ack and retry state. Beside them: an
 * alias for ids the publisher chose, delivery marks (written without reading),
 * an index of notifications waiting for an ack, the audit log (one row per
 * commit of a publish), retry leases and preferences. Every change of a record
 * is an atomic commit checked against its versionstamp, so isolates racing on
 * one record (an ack, a read, a retry step) never lose each other's write.
 */
export class NotificationStore {
  readonly #kv: Deno.Kv;
  readonly #maxAgeMs: number;
  readonly #maxHistory: number;
  readonly #preferencesCache = new Map<
    string,
    { preferences: Preferences | null; until: number }
  >();
  /** Users whose preferences a background read is renewing. */
  readonly #preferencesRenewing = new Set<string>();
  /** Moves on at every change of preferences: a read that began before one caches nothing. */
  #preferencesGeneration = 0;
  readonly #now: () => number;

  constructor(kv: Deno.Kv, options: NotificationStoreOptions = {}) {
    this.#kv = kv;
    this.#maxAgeMs = options.maxAgeMs ?? retentionFor("user:x").maxAgeMs;
    this.#maxHistory = options.maxHistory ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** How long records are kept. */
  get maxAgeMs(): number {
    return this.#maxAgeMs;
  }

  #expired(record: NotificationRecord, now = Date.now()): boolean {
    return Date.parse(record.timestamp) + this.#maxAgeMs < now;
  }

  #expireIn(record: NotificationRecord, now = Date.now()): number {
    return Math.max(1000, Date.parse(record.timestamp) + this.#maxAgeMs - now);
  }

  /**
   * A new notification's record and the KV writes that store it: the record (in
   * history order), an alias when the publisher chose the id, the audit-log
   * entry (collected into one row per commit), and for `requiresAck` the unacked
   * index, the first due retry and the retry lease. They are committed in the
   * same atomic operation as the notification's event on the user's topic (see
   * `NotificationCenter.publish`): storing and delivering cost one round trip.
   */
  prepare(input: CreateInput): { record: NotificationRecord; writes: EventWrites } {
    const now = input.now ?? Date.now();
    const muted = input.muted ?? false;
    const retry = input.requiresAck && !muted ? input.retry : undefined;
    const { userId, id, seq } = input;
    const record: NotificationRecord = {
      id,
      userId,
      type: input.type,
      data: input.data,
      timestamp: iso(now),
      requiresAck: input.requiresAck,
      read: false,
      readAt: null,
      status: muted ? "muted" : "pending",
      sentAt: muted ? null : iso(now),
      deliveredAt: null,
      acknowledged: false,
      acknowledgedAt: null,
      retryCount: 0,
      lastRetryAt: null,
      seq,
      nextRetryAt: retry?.firstAt ?? null,
    };
    const expireIn = this.#maxAgeMs;
    const unacked = input.requiresAck && !muted;
    const aliased = id !== seq;
    const stored = compactRecord(record);
    const writes: EventWrites = {
      mutations: 2 + (aliased ? 1 : 0) + (unacked ? 1 : 0) + (retry ? 2 : 0),
      bytes: (input.dataBytes ?? utf8Bytes(JSON.stringify(record.data) ?? "")) + 1024,
      write: (operation) => {
        operation.set(recordKey(userId, seq), stored, { expireIn });
        if (aliased) operation.set(aliasKey(userId, id), seq, { expireIn });
        if (unacked) operation.set(pendingKey(userId, seq), id, { expireIn });
        if (retry) {
          const lease: RetryLease = { owner: retry.owner, expiresAt: retry.leaseUntil };
          operation.set(dueKey(retry.firstAt, userId, id), true, { expireIn })
            .set(leaseKey(userId, id), lease, { expireIn });
        }
      },
      collect: { key: logKey(seq), item: userId, expireIn },
    };
    return { record, writes };
  }

  /**
   * The preferences of several users for a publish, in one round trip at most: an
   * eventually consistent read (a local replica on Deno Deploy), reused by this
   * isolate for 2 s, since a preference changed a moment ago reaching the next
   * publish a moment late is harmless. For 8 s more they are still used while a
   * read in the background renews them (a fan-out every few seconds never waits
   * for that read); another instance's change reaches publishes here within 10 s.
   * A change made through this store (or reported with
   * {@linkcode forgetPreferences}) is seen at once.
   */
  async preferencesOf(userIds: readonly string[]): Promise<Map<string, Preferences>> {
    const found = new Map<string, Preferences>();
    const now = this.#now();
    const missing: string[] = [];
    const renew: string[] = [];
    for (const userId of userIds) {
      const cached = this.#preferencesCache.get(userId);
      if (cached && cached.until + PREFERENCES_STALE_MS - PREFERENCES_CACHE_MS > now) {
        if (cached.preferences) found.set(userId, cached.preferences);
        if (cached.until <= now && !this.#preferencesRenewing.has(userId)) renew.push(userId);
      } else {
        missing.push(userId);
      }
    }
    if (renew.length > 0) {
      for (const userId of renew) this.#preferencesRenewing.add(userId);
      void this.#readPreferences(renew, new Map(), now)
        .catch(() => {/* the next publish reads them first */})
        .finally(() => {
          for (const userId of renew) this.#preferencesRenewing.delete(userId);
        });
    }
    await this.#readPreferences(missing, found, now);
    return found;
  }

  /** Reads the preferences of `userIds` (10 per `getMany`, concurrently) into `found` and the cache. */
  async #readPreferences(
    userIds: readonly string[],
    found: Map<string, Preferences>,
    now: number,
  ): Promise<void> {
    const generation = this.#preferencesGeneration;
    await Promise.all(
      chunked(userIds, 10).map(async (chunk) => {
        const entries = await this.#kv.getMany(chunk.map((userId) => preferencesKey(userId)), {
          consistency: "eventual",
        });
        chunk.forEach((userId, index) => {
          const preferences = parsePreferences(entries[index]!.value);
          // A change arrived while this read was under way: its value may be the old one.
          if (generation === this.#preferencesGeneration) {
            this.#cachePreferences(userId, preferences, now);
          }
          if (preferences) found.set(userId, preferences);
        });
      }),
    );
  }

  /** Drops what this isolate remembers of a user's preferences (another isolate changed them). */
  forgetPreferences(userId: string): void {
    this.#preferencesGeneration += 1;
    this.#preferencesCache.delete(userId);
  }

  #cachePreferences(userId: string, preferences: Preferences | null, now: number): void {
    this.#preferencesCache.delete(userId);
    this.#preferencesCache.set(userId, { preferences, until: now + PREFERENCES_CACHE_MS });
    if (this.#preferencesCache.size > PREFERENCES_CACHED) {
      this.#preferencesCache.delete(this.#preferencesCache.keys().next().value!);
    }
  }

  /** One record, or null when there is none (or it expired). */
  async get(userId: string, id: string): Promise<NotificationRecord | null> {
    return (await this.#find(userId, id))?.record ?? null;
  }

  /**
   * Finds a record by its id: a generated id is its `seq` (one read, together with
   * the alias in case the publisher chose an id that looks like one); a chosen id
   * goes through its alias (a second read).
   */
  async #find(userId: string, id: string): Promise<Found | null> {
    const generated = GENERATED_ID.test(id);
    const keys = generated ? [recordKey(userId, id), aliasKey(userId, id)] : [aliasKey(userId, id)];
    const [entries, [mark]] = await Promise.all([
      this.#kv.getMany(keys),
      generated ? this.#marks(userId, [id]) : [null],
    ]);
    let entry = generated ? entries[0]! : null;
    let delivered: string | null | undefined = mark;
    const alias = entries.at(-1)!.value;
    if ((!entry || entry.value === null) && typeof alias === "string") {
      [entry, [delivered]] = await Promise.all([
        this.#kv.get(recordKey(userId, alias)),
        this.#marks(userId, [alias]),
      ]);
    }
    const record = entry?.value ? parseRecord(entry.value) : null;
    if (!record || record.id !== id || this.#expired(record)) return null;
    return { record: withDelivery(record, delivered), entry: entry! };
  }

  /**
   * Changes one record atomically: `change` returns the new record (and extra
   * operations for the same commit), or null to leave it as it is. Retried on
   * conflict. Resolves to the record after the change and whether it changed,
   * or null when there is no such record.
   */
  async #update(
    userId: string,
    id: string,
    change: (
      record: NotificationRecord,
    ) => { record: NotificationRecord; also?: (operation: Deno.AtomicOperation) => void } | null,
  ): Promise<{ record: NotificationRecord; changed: boolean } | null> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const found = await this.#find(userId, id);
      if (!found) return null;
      const { record: current, entry } = found;
      const next = change(current);
      if (!next) return { record: current, changed: false };
      const operation = this.#kv.atomic().check(entry)
        .set(recordKey(userId, current.seq), next.record, {
          expireIn: this.#expireIn(next.record),
        });
      next.also?.(operation);
      const result = await operation.commit();
      if (result.ok) return { record: next.record, changed: true };
      if (attempt > 3) await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
    }
    throw new Error(`Cannot update notification "${id}": too many concurrent writers`);
  }

  /** Records a delivery to a connection (`pending` → `delivered`): see {@linkcode markDeliveredMany}. */
  async markDelivered(userId: string, seq: string, now = Date.now()): Promise<void> {
    await this.markDeliveredMany([{ userId, seq }], now);
  }

  /**
   * Records deliveries, written without reading (one round trip for a whole
   * burst) and folded into a record whenever it is read: per publish (`seq`) and
   * shard of users, one row `{at, users}` per call, so a fan-out's marks are a
   * few dozen rows, not one per recipient. A notification delivered again
   * (another isolate, a re-send) reads as the latest time; an acknowledged or
   * failed one keeps its status.
   */
  async markDeliveredMany(
    items: readonly { userId: string; seq: string }[],
    now = Date.now(),
  ): Promise<void> {
    const groups = new Map<string, { seq: string; shard: number; users: Set<string> }>();
    for (const { userId, seq } of items) {
      const shard = deliveryShard(userId);
      const id = `${seq}\u0000${shard}`;
      let group = groups.get(id);
      if (!group) {
        group = { seq, shard, users: new Set() };
        groups.set(id, group);
      }
      group.users.add(userId);
    }
    const at = iso(now);
    const flush = crypto.randomUUID().slice(0, 13);
    const commits: { key: Deno.KvKey; users: string[] }[][] = [[]];
    let bytes = 0;
    let row = 0;
    for (const group of groups.values()) {
      const users = [...group.users];
      for (let start = 0; start < users.length; start += USERS_PER_ROW) {
        const part = users.slice(start, start + USERS_PER_ROW);
        const size = part.reduce((sum, user) => sum + user.length + 4, 200);
        if (bytes + size > DELIVERY_COMMIT_BYTES || commits.at(-1)!.length >= 500) {
          commits.push([]);
          bytes = 0;
        }
        bytes += size;
        commits.at(-1)!.push({
          key: deliveryRowKey(group.seq, group.shard, `${flush}.${row++}`),
          users: part,
        });
      }
    }
    await Promise.all(
      commits.filter((rows) => rows.length > 0).map(async (rows) => {
        const operation = this.#kv.atomic();
        for (const { key, users } of rows) {
          operation.set(key, { at, users }, { expireIn: this.#maxAgeMs });
        }
        await operation.commit();
      }),
    );
  }

  /**
   * The delivery marks of a user's notifications (by `seq`, in that order): the
   * latest of the delivery rows and the key an older release wrote, read at once.
   */
  async #marks(userId: string, seqs: readonly string[]): Promise<(string | null)[]> {
    const [legacy, rows] = await Promise.all([
      Promise.all(
        chunked(seqs, 10).map((chunk) =>
          this.#kv.getMany(chunk.map((seq) => deliveredKey(userId, seq)))
        ),
      ),
      Promise.all(seqs.map((seq) => this.#rowMark(userId, seq))),
    ]);
    const old = legacy.flat();
    return rows.map((mark, index) => laterMark(old[index]!.value, mark));
  }

  /** The latest delivery mark of one notification of a user in the delivery rows, if any. */
  async #rowMark(userId: string, seq: string): Promise<string | null> {
    let latest: string | null = null;
    const rows = this.#kv.list<unknown>({
      prefix: deliveryShardPrefix(seq, deliveryShard(userId)),
    });
    for await (const row of rows) {
      const value = row.value as { at?: unknown; users?: unknown } | null;
      if (Array.isArray(value?.users) && value.users.includes(userId)) {
        latest = laterMark(latest, value.at);
      }
    }
    return latest;
  }

  /**
   * Records an ack: `acknowledged` with its time; the retry lease and due entry
   * go, so whichever isolate drives the retries stops at its next check.
   * Acking twice is harmless. Null when the user has no such notification.
   */
  async acknowledge(
    userId: string,
    id: string,
    now = Date.now(),
  ): Promise<{ record: NotificationRecord; changed: boolean } | null> {
    return await this.#update(userId, id, (record) => {
      if (record.acknowledged) return null;
      return {
        record: {
          ...record,
          acknowledged: true,
          acknowledgedAt: iso(now),
          deliveredAt: record.deliveredAt ?? iso(now),
          status: "acknowledged",
          nextRetryAt: null,
        },
        also: (operation) => {
          operation.delete(pendingKey(userId, record.seq)).delete(leaseKey(userId, id));
          if (record.nextRetryAt !== null) {
            operation.delete(dueKey(record.nextRetryAt, userId, id));
          }
        },
      };
    });
  }

  /** Marks notifications read; resolves to the ids that were unread, in the order given. */
  async markRead(userId: string, ids: string[], now = Date.now()): Promise<string[]> {
    const changed = new Set<string>();
    await runLimited(ids, 8, async (id) => {
      const result = await this.#update(userId, id, (record) => {
        if (record.read) return null;
        return { record: { ...record, read: true, readAt: iso(now) } };
      });
      if (result?.changed) changed.add(id);
    });
    // In the order asked for, not the order the concurrent commits finished in.
    return [...new Set(ids)].filter((id) => changed.has(id));
  }

  /** Marks every unread notification of the user read; resolves to their ids. */
  async markAllRead(userId: string, now = Date.now()): Promise<string[]> {
    const changed: string[] = [];
    while (true) {
      const unread = await this.#unread(userId, 200);
      if (unread.length === 0) return changed;
      changed.push(...await this.markRead(userId, unread.map((record) => record.id), now));
      if (unread.length < 200) return changed;
    }
  }

  /**
   * Up to `limit` of the user's records, newest first, that `keep` accepts: a
   * scan of their history (at most `maxHistory` records, 500 per round trip).
   */
  async #scan(
    userId: string,
    limit: number,
    keep: (record: NotificationRecord) => boolean,
  ): Promise<NotificationRecord[]> {
    const now = Date.now();
    const found: NotificationRecord[] = [];
    const iterator = this.#kv.list({ prefix: recordPrefix(userId) }, {
      reverse: true,
      batchSize: 500,
    });
    for await (const entry of iterator) {
      const record = parseRecord(entry.value);
      if (record && !this.#expired(record, now) && keep(record)) {
        found.push(record);
        if (found.length >= limit) break;
      }
    }
    return found;
  }

  #unread(userId: string, limit: number): Promise<NotificationRecord[]> {
    return this.#scan(userId, limit, (record) => !record.read);
  }

  /** Unread notifications of the user (counted up to 1000). */
  async unreadCount(userId: string): Promise<number> {
    return (await this.#unread(userId, 1000)).length;
  }

  /** Ids of the user's unread notifications, newest first (up to 1000). */
  async unreadIds(userId: string): Promise<string[]> {
    return (await this.#unread(userId, 1000)).map((record) => record.id);
  }

  /** Records by `seq` (in the order given, missing ones left out), ten per `getMany`, all at once. */
  async #records(userId: string, seqs: readonly string[]): Promise<NotificationRecord[]> {
    const [pages, marks] = await Promise.all([
      Promise.all(
        chunked(seqs, 10).map((chunk) =>
          this.#kv.getMany(chunk.map((seq) => recordKey(userId, seq)))
        ),
      ),
      this.#marks(userId, seqs),
    ]);
    const records: NotificationRecord[] = [];
    pages.flat().forEach((entry, index) => {
      const record = parseRecord(entry.value);
      if (record && !this.#expired(record)) records.push(withDelivery(record, marks[index]));
    });
    return records;
  }

  /** Delivery marks folded into records listed without them. */
  async #withDeliveries(
    userId: string,
    records: NotificationRecord[],
  ): Promise<NotificationRecord[]> {
    const pending = records.filter((record) => record.deliveredAt === null).map((r) => r.seq);
    const found = await this.#marks(userId, pending);
    const marks = new Map(pending.map((seq, index) => [seq, found[index]]));
    return records.map((record) => withDelivery(record, marks.get(record.seq)));
  }

  /**
   * A page of the user's history, newest first. `before` is the id of the
   * oldest notification of the previous page; `nextBefore` continues after this page.
   */
  async history(
    userId: string,
    options: {
      before?: string | undefined;
      limit?: number | undefined;
      /** Only records whose `seq` sorts after this (a `seq`, or a ULID time prefix). */
      afterSeq?: string | undefined;
    } = {},
  ): Promise<{ items: NotificationRecord[]; nextBefore: string | null }> {
    const limit = Math.min(Math.max(options.limit ?? 20, 1), 100);
    let end: Deno.KvKey | undefined;
    if (options.before) {
      const anchor = await this.get(userId, options.before);
      if (!anchor) {
        throw new NotificationError(
          "invalid_cursor",
          `Cannot page before "${options.before.slice(0, 64)}": no such notification`,
        );
      }
      end = recordKey(userId, anchor.seq);
      if (options.afterSeq !== undefined && options.afterSeq >= anchor.seq) {
        return { items: [], nextBefore: null };
      }
    }
    const start = options.afterSeq === undefined ? undefined : recordKey(userId, options.afterSeq);
    const selector: Deno.KvListSelector = start && end
      ? { start, end }
      : start
      ? { prefix: recordPrefix(userId), start }
      : end
      ? { prefix: recordPrefix(userId), end }
      : { prefix: recordPrefix(userId) };
    const listed: NotificationRecord[] = [];
    let seen = 0;
    for await (const entry of this.#kv.list(selector, { reverse: true, limit })) {
      seen += 1;
      const record = parseRecord(entry.value);
      if (record && record.seq === options.afterSeq) continue;
      if (record && !this.#expired(record)) listed.push(record);
    }
    const items = await this.#withDeliveries(userId, listed);
    const last = items.at(-1);
    return { items, nextBefore: seen === limit && last ? last.id : null };
  }

  /**
   * The audit log, newest first, filtered by user, type and status. Scans at most
   * `scanLimit` records per call; `nextBefore` (opaque) continues the scan.
   */
  async log(options: {
    userId?: string | undefined;
    type?: string | undefined;
    status?: NotificationStatus | undefined;
    before?: string | undefined;
    limit?: number | undefined;
    scanLimit?: number | undefined;
  } = {}): Promise<{ entries: NotificationRecord[]; nextBefore: string | null }> {
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
    const scanLimit = options.scanLimit ?? 5000;
    const matches = (record: NotificationRecord) =>
      (!options.type || record.type === options.type) &&
      (!options.status || record.status === options.status);
    const entries: NotificationRecord[] = [];
    let scanned = 0;
    /** Takes scanned records in order; true when the page is full (then `cursor` continues it). */
    const take = (record: NotificationRecord | null): boolean => {
      scanned += 1;
      if (record && matches(record)) entries.push(record);
      return entries.length >= limit || scanned >= scanLimit;
    };
    if (options.userId) {
      // One user's log is their records, newest first; the cursor is a `seq`.
      const userId = options.userId;
      const prefix = recordPrefix(userId);
      const selector = options.before ? { prefix, end: [...prefix, options.before] } : { prefix };
      const batch: NotificationRecord[] = [];
      const drain = async (): Promise<string | null> => {
        for (const record of await this.#withDeliveries(userId, batch.splice(0))) {
          if (take(record)) return record.seq;
        }
        return null;
      };
      for await (const entry of this.#kv.list(selector, { reverse: true, batchSize: 100 })) {
        const record = parseRecord(entry.value);
        if (!record || this.#expired(record)) continue;
        batch.push(record);
        if (batch.length >= 50) {
          const cursor = await drain();
          if (cursor) return { entries, nextBefore: cursor };
        }
      }
      const cursor = await drain();
      return { entries, nextBefore: cursor };
    }
    // Every user: rows (seq, commit) → users, newest first; the cursor is "<seq>.<commit>.<index>".
    const [beforeSeq, beforeCommit, beforeIndex] = (options.before ?? "").split(".");
    const selector = beforeSeq
      ? { prefix: LOG_PREFIX, end: [...LOG_PREFIX, beforeSeq, beforeCommit ?? "", true] }
      : { prefix: LOG_PREFIX };
    for await (const row of this.#kv.list<unknown>(selector, { reverse: true, batchSize: 50 })) {
      const seq = String(row.key[2]);
      const commit = String(row.key[3]);
      const users = Array.isArray(row.value)
        ? row.value.filter((user): user is string => typeof user === "string")
        : [];
      // Newest first within a row too; resume inside the row the last page stopped in.
      let last = users.length - 1;
      if (seq === beforeSeq && commit === beforeCommit) {
        last = Math.min(last, Number(beforeIndex) - 1);
      }
      for (let end = last; end >= 0; end -= 50) {
        const part = users.slice(Math.max(0, end - 49), end + 1).reverse();
        const records = await Promise.all(
          part.map(async (userId) => (await this.#records(userId, [seq]))[0] ?? null),
        );
        for (const [position, record] of records.entries()) {
          if (take(record)) return { entries, nextBefore: `${seq}.${commit}.${end - position}` };
        }
      }
    }
    return { entries, nextBefore: null };
  }

  /** The user's notifications still waiting for an ack (not muted), oldest first. */
  async unacknowledged(userId: string, limit = 100): Promise<NotificationRecord[]> {
    const seqs: string[] = [];
    const iterator = this.#kv.list<string>({ prefix: pendingPrefix(userId) }, {
      reverse: true,
      limit,
    });
    for await (const entry of iterator) seqs.push(String(entry.key[3]));
    const records = await this.#records(userId, seqs);
    return records.filter((record) => !record.acknowledged && record.status !== "muted")
      .sort((a, b) => (a.seq < b.seq ? -1 : 1));
  }

  /** The user's preferences (nothing muted by default). */
  async preferences(userId: string): Promise<Preferences> {
    const entry = await this.#kv.get(preferencesKey(userId));
    return parsePreferences(entry.value) ?? { muted: [], mutedGroups: [] };
  }

  /** Replaces the user's preferences. */
  async setPreferences(userId: string, preferences: Preferences): Promise<Preferences> {
    const clean: Preferences = {
      muted: [...new Set(preferences.muted)],
      mutedGroups: [...new Set(preferences.mutedGroups)],
    };
    await this.#kv.set(preferencesKey(userId), clean);
    this.#preferencesGeneration += 1;
    this.#cachePreferences(userId, clean, this.#now());
    return clean;
  }

  /** The retry lease of a notification, if any. */
  async lease(userId: string, id: string): Promise<RetryLease | null> {
    const entry = await this.#kv.get(leaseKey(userId, id));
    const parsed = leaseSchema.safeParse(entry.value);
    return parsed.success ? parsed.data : null;
  }

  /**
   * Takes over driving a notification's retries when nobody holds the lease or it
   * ran out (its driver died). Atomic: of several isolates, one wins.
   */
  async claim(
    userId: string,
    id: string,
    lease: RetryLease,
    now = Date.now(),
  ): Promise<boolean> {
    const key = leaseKey(userId, id);
    const entry = await this.#kv.get(key);
    const current = leaseSchema.safeParse(entry.value);
    if (current.success && current.data.expiresAt > now && current.data.owner !== lease.owner) {
      return false;
    }
    const result = await this.#kv.atomic().check(entry).set(key, lease, {
      expireIn: this.#maxAgeMs,
    }).commit();
    return result.ok;
  }

  /**
   * Records one re-send (`retryCount + 1`, `lastRetryAt`) and moves the due entry
   * and lease on, if `owner` still holds the lease and no ack arrived.
   */
  async recordRetry(
    userId: string,
    id: string,
    step: { owner: string; attempt: number; now: number; nextAt: number; leaseUntil: number },
  ): Promise<RetryStepResult> {
    return await this.#retryStep(userId, id, step.owner, (record) => {
      if (record.retryCount >= step.attempt) return { record, unchanged: true };
      return {
        record: {
          ...record,
          retryCount: step.attempt,
          lastRetryAt: iso(step.now),
          nextRetryAt: step.nextAt,
        },
        lease: { owner: step.owner, expiresAt: step.leaseUntil },
      };
    }, {
      // The re-send went out: an ack that it raced (the client acked that very re-send
      // before this commit) still counts it, so the audit log says what was sent.
      acknowledged: (record) =>
        record.retryCount >= step.attempt
          ? null
          : { ...record, retryCount: step.attempt, lastRetryAt: iso(step.now) },
    });
  }

  /** Marks a notification `failed` after its last unacked re-send (if `owner` drives it). */
  async markFailed(userId: string, id: string, owner: string): Promise<RetryStepResult> {
    return await this.#retryStep(userId, id, owner, (record) => ({
      record: { ...record, status: "failed", nextRetryAt: null },
      lease: null,
    }));
  }

  async #retryStep(
    userId: string,
    id: string,
    owner: string,
    change: (record: NotificationRecord) => {
      record: NotificationRecord;
      lease?: RetryLease | null;
      unchanged?: boolean;
    },
    options: {
      /** What an acknowledged record becomes (null: stays as it is); retries stop either way. */
      acknowledged?: (record: NotificationRecord) => NotificationRecord | null;
    } = {},
  ): Promise<RetryStepResult> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const [found, leaseEntry] = await Promise.all([
        this.#find(userId, id),
        this.#kv.get(leaseKey(userId, id)),
      ]);
      const record = found?.record ?? null;
      const key = record ? recordKey(userId, record.seq) : null;
      const acked = record?.acknowledged ? options.acknowledged?.(record) : null;
      if (acked && found && key) {
        const result = await this.#kv.atomic().check(found.entry)
          .set(key, acked, { expireIn: this.#expireIn(acked) }).commit();
        if (!result.ok) continue;
        return { outcome: "stopped", record: acked };
      }
      if (
        !found || !key || !record || record.acknowledged || record.status === "failed" ||
        record.status === "muted"
      ) {
        return { outcome: "stopped", record };
      }
      const lease = leaseSchema.safeParse(leaseEntry.value);
      if (!lease.success || lease.data.owner !== owner) return { outcome: "lost" };
      const next = change(record);
      if (next.unchanged) return { outcome: "recorded", record };
      const operation = this.#kv.atomic().check(found.entry).check(leaseEntry)
        .set(key, next.record, { expireIn: this.#expireIn(next.record) });
      if (record.nextRetryAt !== null) operation.delete(dueKey(record.nextRetryAt, userId, id));
      if (next.record.nextRetryAt !== null) {
        operation.set(dueKey(next.record.nextRetryAt, userId, id), true, {
          expireIn: this.#expireIn(next.record),
        });
      }
      if (next.lease) {
        operation.set(leaseKey(userId, id), next.lease, { expireIn: this.#expireIn(next.record) });
      } else if (next.lease === null) operation.delete(leaseKey(userId, id));
      const result = await operation.commit();
      if (result.ok) return { outcome: "recorded", record: next.record };
    }
    throw new Error(`Cannot record a retry of "${id}": too many concurrent writers`);
  }

  /** Drops the due entry and lease of a notification whose retries ended. */
  async clearRetry(userId: string, id: string, record: NotificationRecord | null): Promise<void> {
    const operation = this.#kv.atomic().delete(leaseKey(userId, id));
    if (record?.nextRetryAt != null) operation.delete(dueKey(record.nextRetryAt, userId, id));
    await operation.commit();
  }

  /** Due entries at or before `until` (ms), oldest first: what a takeover sweep looks at. */
  async due(until: number, limit = 100): Promise<{ at: number; userId: string; id: string }[]> {
    const found: { at: number; userId: string; id: string }[] = [];
    const iterator = this.#kv.list({ prefix: DUE_PREFIX, end: [...DUE_PREFIX, until + 1] }, {
      limit,
    });
    for await (const entry of iterator) {
      const [, , at, userId, id] = entry.key;
      if (typeof at === "number" && typeof userId === "string" && typeof id === "string") {
        found.push({ at, userId, id });
      }
    }
    return found;
  }

  /**
   * Deletes the user's oldest notifications beyond `maxHistory` with what belongs
   * to them; resolves to how many. (Audit-log and delivery rows are shared by a
   * publish's recipients: they expire with the records, and readers skip missing
   * ones.)
   */
  async trim(userId: string): Promise<number> {
    let index = 0;
    const stale: NotificationRecord[] = [];
    const iterator = this.#kv.list({ prefix: recordPrefix(userId) }, {
      reverse: true,
      batchSize: 500,
    });
    for await (const entry of iterator) {
      index += 1;
      if (index <= this.#maxHistory) continue;
      const record = parseRecord(entry.value);
      if (record) stale.push(record);
      else await this.#kv.delete(entry.key);
    }
    for (const batch of chunked(stale, 100)) {
      const operation = this.#kv.atomic();
      for (const record of batch) {
        operation.delete(recordKey(userId, record.seq)).delete(deliveredKey(userId, record.seq))
          .delete(pendingKey(userId, record.seq)).delete(leaseKey(userId, record.id));
        if (record.id !== record.seq) operation.delete(aliasKey(userId, record.id));
        if (record.nextRetryAt !== null) {
          operation.delete(dueKey(record.nextRetryAt, userId, record.id));
        }
      }
      await operation.commit();
    }
    return stale.length;
  }
}

function parsePreferences(value: unknown): Preferences | null {
  const parsed = preferencesSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    chunks.push(items.slice(start, start + size));
  }
  return chunks;
}

/** Runs `task` over `items`, at most `limit` at a time. */
async function runLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++]!);
  });
  await Promise.all(workers);
}
