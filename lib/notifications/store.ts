import { monotonicIds } from "../ids/mod.ts";
import { z } from "zod";
import { retryWhileBusy } from "../kv/mod.ts";
import { type EventWrites, retentionFor } from "../realtime/mod.ts";
import { utf8Bytes } from "../text/mod.ts";
import {
  deliveredKey,
  DUE_PREFIX,
  dueKey,
  historyKey,
  historyPrefix,
  leaseKey,
  LOG_PREFIX,
  logKey,
  pendingKey,
  pendingPrefix,
  preferencesKey,
  recordKey,
} from "./_keys.ts";
import { NotificationError } from "./errors.ts";
import {
  type NotificationRecord,
  notificationRecordSchema,
  type NotificationStatus,
  type Preferences,
  preferencesSchema,
} from "./record.ts";

/** How long this isolate reuses preferences it read for publishing. */
const PREFERENCES_CACHE_MS = 2000;
/** Users whose preferences this isolate keeps at most. */
const PREFERENCES_CACHED = 50_000;

/** Options of {@linkcode NotificationStore}. */
export interface NotificationStoreOptions {
  /** How long records are kept (default: the retention of `user:` topics, 30 days). */
  maxAgeMs?: number;
  /** Records kept per user; older ones are trimmed (default 1000). */
  maxHistory?: number;
}

/** What {@linkcode NotificationStore.prepare} stores. */
export interface CreateInput {
  userId: string;
  id: string;
  type: string;
  data: Record<string, unknown>;
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
/**
 * A user's history entry (ordered by `seq`): the notification's id, when it was
 * published, and whether it was read, so the unread ones are found by scanning
 * the history (at most `maxHistory` entries) without an index of their own.
 */
const historyEntrySchema = z.object({
  id: z.string(),
  at: z.number(),
  read: z.literal(true).optional(),
});
type HistoryEntry = z.infer<typeof historyEntrySchema>;

function parseHistoryEntry(value: unknown): HistoryEntry | null {
  const parsed = historyEntrySchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** The outcome of one step of the retry driver against the store. */
export type RetryStepResult =
  | { outcome: "recorded"; record: NotificationRecord }
  | { outcome: "stopped"; record: NotificationRecord | null }
  | { outcome: "lost" };

const nextSeq = monotonicIds();
let lastIso: { ms: number; text: string } = { ms: NaN, text: "" };
/** ISO 8601 of `ms`; a fan-out formats the same instant for every user, so the last one is kept. */
function iso(ms: number): string {
  if (lastIso.ms !== ms) lastIso = { ms, text: new Date(ms).toISOString() };
  return lastIso.text;
}

function parseRecord(value: unknown): NotificationRecord | null {
  const parsed = notificationRecordSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
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

/**
 * Per-user notification records in Deno KV: the record (read state, delivery,
 * ack and retry fields), a history index by time (with read state), an unacked index,
 * the audit log, retry leases and preferences. Every change of a record is an
 * atomic commit checked against its versionstamp, so isolates racing on one
 * record (a delivery, an ack, a read, a retry step) never lose each other's write.
 */
export class NotificationStore {
  readonly #kv: Deno.Kv;
  readonly #maxAgeMs: number;
  readonly #maxHistory: number;
  readonly #preferencesCache = new Map<string, { preferences: Preferences | null; until: number }>();

  constructor(kv: Deno.Kv, options: NotificationStoreOptions = {}) {
    this.#kv = kv;
    this.#maxAgeMs = options.maxAgeMs ?? retentionFor("user:x").maxAgeMs;
    this.#maxHistory = options.maxHistory ?? 1000;
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
   * A new notification's record and the KV writes that store it with its
   * indexes (history, audit log; for `requiresAck` also the unacked
   * index, the first due retry and the retry lease). They are committed in the
   * same atomic operation as the notification's event on the user's topic (see
   * `NotificationCenter.publish`): storing and delivering cost one round trip.
   */
  prepare(input: CreateInput): { record: NotificationRecord; writes: EventWrites } {
    const now = input.now ?? Date.now();
    const muted = input.muted ?? false;
    const retry = input.requiresAck && !muted ? input.retry : undefined;
    const seq = nextSeq(now);
    const record: NotificationRecord = {
      id: input.id,
      userId: input.userId,
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
    const writes: EventWrites = {
      mutations: 3 + (unacked ? 1 : 0) + (retry ? 2 : 0),
      bytes: utf8Bytes(JSON.stringify(record.data) ?? "") + 1024,
      write: (operation) => {
        operation
          .set(recordKey(input.userId, input.id), record, { expireIn })
          .set(historyKey(input.userId, seq), { id: input.id, at: now } satisfies HistoryEntry, {
            expireIn,
          })
          .set(logKey(seq, input.userId), input.id, { expireIn });
        if (unacked) operation.set(pendingKey(input.userId, seq), input.id, { expireIn });
        if (retry) {
          const lease: RetryLease = { owner: retry.owner, expiresAt: retry.leaseUntil };
          operation.set(dueKey(retry.firstAt, input.userId, input.id), true, { expireIn })
            .set(leaseKey(input.userId, input.id), lease, { expireIn });
        }
      },
    };
    return { record, writes };
  }

  /**
   * The preferences of several users for a publish, in one round trip at most: an
   * eventually consistent read (a local replica on Deno Deploy), reused by this
   * isolate for 2 s, since a preference changed a moment ago reaching the next
   * publish a moment late is harmless. A change made through this store (or
   * reported with {@linkcode forgetPreferences}) is seen at once.
   */
  async preferencesOf(userIds: readonly string[]): Promise<Map<string, Preferences>> {
    const found = new Map<string, Preferences>();
    const now = Date.now();
    const missing: string[] = [];
    for (const userId of userIds) {
      const cached = this.#preferencesCache.get(userId);
      if (cached && cached.until > now) {
        if (cached.preferences) found.set(userId, cached.preferences);
      } else {
        missing.push(userId);
      }
    }
    const chunks: string[][] = [];
    for (let start = 0; start < missing.length; start += 10) {
      chunks.push(missing.slice(start, start + 10));
    }
    await Promise.all(chunks.map(async (chunk) => {
      const entries = await retryWhileBusy(() =>
        this.#kv.getMany(chunk.map((userId) => preferencesKey(userId)), {
          consistency: "eventual",
        })
      );
      chunk.forEach((userId, index) => {
        const preferences = parsePreferences(entries[index]!.value);
        this.#cachePreferences(userId, preferences, now);
        if (preferences) found.set(userId, preferences);
      });
    }));
    return found;
  }

  /** Drops what this isolate remembers of a user's preferences (another isolate changed them). */
  forgetPreferences(userId: string): void {
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
    return (await this.#read(userId, id))?.record ?? null;
  }

  /** A record (with its delivery mark) and the entry a change of it checks. */
  async #read(
    userId: string,
    id: string,
  ): Promise<{ record: NotificationRecord; entry: Deno.KvEntryMaybe<unknown> } | null> {
    const [entry, delivered] = await retryWhileBusy(() =>
      this.#kv.getMany([recordKey(userId, id), deliveredKey(userId, id)])
    );
    const record = entry!.value ? parseRecord(entry!.value) : null;
    if (!record || this.#expired(record)) return null;
    return { record: withDelivery(record, delivered!.value), entry: entry! };
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
    const key = recordKey(userId, id);
    for (let attempt = 0; attempt < 50; attempt++) {
      const read = await this.#read(userId, id);
      if (!read) return null;
      const { record: current, entry } = read;
      const next = change(current);
      if (!next) return { record: current, changed: false };
      const operation = this.#kv.atomic().check(entry)
        .set(key, next.record, { expireIn: this.#expireIn(next.record) });
      next.also?.(operation);
      const result = await retryWhileBusy(() => operation.commit());
      if (result.ok) return { record: next.record, changed: true };
      if (attempt > 3) await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
    }
    throw new Error(`Cannot update notification "${id}": too many concurrent writers`);
  }

  /** Records a delivery to a connection (`pending` → `delivered`): see {@linkcode markDeliveredMany}. */
  async markDelivered(userId: string, id: string, now = Date.now()): Promise<void> {
    await this.markDeliveredMany([{ userId, id }], now);
  }

  /**
   * Records deliveries: a delivery mark per notification beside its record,
   * written without reading (500 per commit, one round trip for a whole burst),
   * folded into the record whenever it is read. A notification delivered again
   * (another isolate, a re-send) gets that time instead; an acknowledged or
   * failed one keeps its status.
   */
  async markDeliveredMany(
    items: readonly { userId: string; id: string }[],
    now = Date.now(),
  ): Promise<void> {
    const chunks: { userId: string; id: string }[][] = [];
    for (let start = 0; start < items.length; start += 500) {
      chunks.push(items.slice(start, start + 500));
    }
    await Promise.all(chunks.map(async (chunk) => {
      const operation = this.#kv.atomic();
      for (const item of chunk) {
        operation.set(deliveredKey(item.userId, item.id), iso(now), { expireIn: this.#maxAgeMs });
      }
      await retryWhileBusy(() => operation.commit());
    }));
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
        const next = { ...record, read: true, readAt: iso(now) };
        const entry: HistoryEntry = { id, at: Date.parse(record.timestamp), read: true };
        return {
          record: next,
          also: (operation) =>
            operation.set(historyKey(userId, record.seq), entry, {
              expireIn: this.#expireIn(next, now),
            }),
        };
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
      const ids = unread.map((entry) => entry.id);
      const done = await this.markRead(userId, ids, now);
      changed.push(...done);
      // Entries whose record is gone (expired, trimmed) would come back forever: drop them.
      if (done.length < ids.length) {
        const stale = unread.filter((entry) => !done.includes(entry.id));
        const records = await this.#records(userId, stale.map((entry) => entry.id));
        const alive = new Set(records.filter((record) => !record.read).map((record) => record.id));
        const operation = this.#kv.atomic();
        for (const entry of stale) if (!alive.has(entry.id)) operation.delete(entry.key);
        await retryWhileBusy(() => operation.commit());
      }
      if (unread.length < 200) return changed;
    }
  }

  /** Unread history entries, newest first, up to `limit` (a scan of the history). */
  async #unread(
    userId: string,
    limit: number,
  ): Promise<(HistoryEntry & { key: Deno.KvKey })[]> {
    const now = Date.now();
    const found: (HistoryEntry & { key: Deno.KvKey })[] = [];
    const iterator = this.#kv.list({ prefix: historyPrefix(userId) }, {
      reverse: true,
      batchSize: 500,
    });
    for await (const entry of iterator) {
      const value = parseHistoryEntry(entry.value);
      if (value && !value.read && value.at + this.#maxAgeMs >= now) {
        found.push({ ...value, key: entry.key });
        if (found.length >= limit) break;
      }
    }
    return found;
  }

  /** Unread notifications of the user (counted up to 1000). */
  async unreadCount(userId: string): Promise<number> {
    return (await this.#unread(userId, 1000)).length;
  }

  /** Records by id, in the order given, read five per `getMany` and all at once. */
  async #records(userId: string, ids: string[]): Promise<NotificationRecord[]> {
    const chunks: string[][] = [];
    for (let start = 0; start < ids.length; start += 5) chunks.push(ids.slice(start, start + 5));
    const pages = await Promise.all(chunks.map(async (chunk) => {
      const keys = chunk.flatMap((id) => [recordKey(userId, id), deliveredKey(userId, id)]);
      const entries = await retryWhileBusy(() => this.#kv.getMany(keys));
      const records: NotificationRecord[] = [];
      for (let index = 0; index < entries.length; index += 2) {
        const value = entries[index]!.value;
        const record = value ? parseRecord(value) : null;
        if (record && !this.#expired(record)) {
          records.push(withDelivery(record, entries[index + 1]!.value));
        }
      }
      return records;
    }));
    return pages.flat();
  }

  /**
   * A page of the user's history, newest first. `before` is the id of the
   * oldest notification of the previous page; `nextBefore` continues after this page.
   */
  async history(
    userId: string,
    options: { before?: string | undefined; limit?: number | undefined } = {},
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
      end = historyKey(userId, anchor.seq);
    }
    const ids: string[] = [];
    const selector = end
      ? { prefix: historyPrefix(userId), end }
      : { prefix: historyPrefix(userId) };
    for await (const entry of this.#kv.list(selector, { reverse: true, limit })) {
      const value = parseHistoryEntry(entry.value);
      if (value) ids.push(value.id);
    }
    const items = await this.#records(userId, ids);
    const last = items.at(-1);
    return { items, nextBefore: ids.length === limit && last ? last.id : null };
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
    let lastSeq: string | null = null;
    let exhausted = true;
    const pointers: { userId: string; id: string; seq: string }[] = [];
    const flush = async () => {
      const byUser = new Map<string, { id: string; seq: string }[]>();
      for (const pointer of pointers.splice(0)) {
        byUser.set(pointer.userId, [...(byUser.get(pointer.userId) ?? []), pointer]);
      }
      const found: NotificationRecord[] = [];
      for (const [userId, items] of byUser) {
        found.push(...await this.#records(userId, items.map((item) => item.id)));
      }
      found.sort((a, b) => (a.seq < b.seq ? 1 : a.seq > b.seq ? -1 : 0));
      for (const record of found) if (matches(record)) entries.push(record);
    };
    const prefix = options.userId ? historyPrefix(options.userId) : LOG_PREFIX;
    const before = options.before ? [...prefix, options.before] : undefined;
    const selector = before ? { prefix, end: before } : { prefix };
    for await (const entry of this.#kv.list(selector, { reverse: true, batchSize: 100 })) {
      if (entries.length >= limit) {
        exhausted = false;
        break;
      }
      if (scanned >= scanLimit) {
        exhausted = false;
        break;
      }
      const seq = String(entry.key[options.userId ? 3 : 2]);
      const userId = options.userId ?? String(entry.key[3]);
      // The audit log's entries hold the id; a user's history entries an object with it.
      const id = typeof entry.value === "string" ? entry.value : parseHistoryEntry(entry.value)?.id;
      if (id === undefined) continue;
      pointers.push({ userId, id, seq });
      lastSeq = seq;
      scanned += 1;
      if (pointers.length >= 50) await flush();
    }
    await flush();
    const page = entries.slice(0, limit);
    const nextBefore = entries.length > limit ? page.at(-1)!.seq : exhausted ? null : lastSeq;
    return { entries: page, nextBefore };
  }

  /** The user's notifications still waiting for an ack (not muted), oldest first. */
  async unacknowledged(userId: string, limit = 100): Promise<NotificationRecord[]> {
    const ids: string[] = [];
    const iterator = this.#kv.list<string>({ prefix: pendingPrefix(userId) }, {
      reverse: true,
      limit,
    });
    for await (const entry of iterator) if (typeof entry.value === "string") ids.push(entry.value);
    const records = await this.#records(userId, ids);
    return records.filter((record) => !record.acknowledged && record.status !== "muted")
      .sort((a, b) => (a.seq < b.seq ? -1 : 1));
  }

  /** The user's preferences (nothing muted by default). */
  async preferences(userId: string): Promise<Preferences> {
    const entry = await retryWhileBusy(() => this.#kv.get(preferencesKey(userId)));
    return parsePreferences(entry.value) ?? { muted: [], mutedGroups: [] };
  }

  /** Replaces the user's preferences. */
  async setPreferences(userId: string, preferences: Preferences): Promise<Preferences> {
    const clean: Preferences = {
      muted: [...new Set(preferences.muted)],
      mutedGroups: [...new Set(preferences.mutedGroups)],
    };
    await retryWhileBusy(() => this.#kv.set(preferencesKey(userId), clean));
    this.#cachePreferences(userId, clean, Date.now());
    return clean;
  }

  /** The retry lease of a notification, if any. */
  async lease(userId: string, id: string): Promise<RetryLease | null> {
    const entry = await retryWhileBusy(() => this.#kv.get(leaseKey(userId, id)));
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
    const entry = await retryWhileBusy(() => this.#kv.get(key));
    const current = leaseSchema.safeParse(entry.value);
    if (current.success && current.data.expiresAt > now && current.data.owner !== lease.owner) {
      return false;
    }
    const result = await retryWhileBusy(() =>
      this.#kv.atomic().check(entry).set(key, lease, { expireIn: this.#maxAgeMs }).commit()
    );
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
      const [recordEntry, leaseEntry] = await retryWhileBusy(() =>
        this.#kv.getMany<[unknown, unknown]>([recordKey(userId, id), leaseKey(userId, id)])
      );
      const record = recordEntry.value ? parseRecord(recordEntry.value) : null;
      const acked = record && !this.#expired(record) && record.acknowledged
        ? options.acknowledged?.(record)
        : null;
      if (acked) {
        const result = await retryWhileBusy(() =>
          this.#kv.atomic().check(recordEntry)
            .set(recordKey(userId, id), acked, { expireIn: this.#expireIn(acked) }).commit()
        );
        if (!result.ok) continue;
        return { outcome: "stopped", record: acked };
      }
      if (
        !record || this.#expired(record) || record.acknowledged || record.status === "failed" ||
        record.status === "muted"
      ) {
        return { outcome: "stopped", record };
      }
      const lease = leaseSchema.safeParse(leaseEntry.value);
      if (!lease.success || lease.data.owner !== owner) return { outcome: "lost" };
      const next = change(record);
      if (next.unchanged) return { outcome: "recorded", record };
      const operation = this.#kv.atomic().check(recordEntry).check(leaseEntry)
        .set(recordKey(userId, id), next.record, { expireIn: this.#expireIn(next.record) });
      if (record.nextRetryAt !== null) operation.delete(dueKey(record.nextRetryAt, userId, id));
      if (next.record.nextRetryAt !== null) {
        operation.set(dueKey(next.record.nextRetryAt, userId, id), true, {
          expireIn: this.#expireIn(next.record),
        });
      }
      if (next.lease) {
        operation.set(leaseKey(userId, id), next.lease, { expireIn: this.#expireIn(next.record) });
      } else if (next.lease === null) operation.delete(leaseKey(userId, id));
      const result = await retryWhileBusy(() => operation.commit());
      if (result.ok) return { outcome: "recorded", record: next.record };
    }
    throw new Error(`Cannot record a retry of "${id}": too many concurrent writers`);
  }

  /** Drops the due entry and lease of a notification whose retries ended. */
  async clearRetry(userId: string, id: string, record: NotificationRecord | null): Promise<void> {
    const operation = this.#kv.atomic().delete(leaseKey(userId, id));
    if (record?.nextRetryAt != null) operation.delete(dueKey(record.nextRetryAt, userId, id));
    await retryWhileBusy(() => operation.commit());
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

  /** Deletes the user's oldest notifications beyond `maxHistory`; resolves to how many. */
  async trim(userId: string): Promise<number> {
    let index = 0;
    const stale: { seq: string; id: string }[] = [];
    const iterator = this.#kv.list({ prefix: historyPrefix(userId) }, {
      reverse: true,
      batchSize: 500,
    });
    for await (const entry of iterator) {
      index += 1;
      const value = parseHistoryEntry(entry.value);
      if (index > this.#maxHistory && value) {
        stale.push({ seq: String(entry.key[3]), id: value.id });
      }
    }
    for (let start = 0; start < stale.length; start += 10) {
      const batch = stale.slice(start, start + 10);
      const entries = await retryWhileBusy(() =>
        this.#kv.getMany(batch.map((item) => recordKey(userId, item.id)))
      );
      const operation = this.#kv.atomic();
      batch.forEach(({ seq, id }, position) => {
        operation.delete(historyKey(userId, seq)).delete(pendingKey(userId, seq))
          .delete(logKey(seq, userId));
        const value = entries[position]?.value;
        const record = value ? parseRecord(value) : null;
        // Only the record this index entry points at: a newer one may reuse the id.
        if (record && record.seq === seq) {
          operation.delete(recordKey(userId, id)).delete(leaseKey(userId, id))
            .delete(deliveredKey(userId, id));
          if (record.nextRetryAt !== null) operation.delete(dueKey(record.nextRetryAt, userId, id));
        }
      });
      await retryWhileBusy(() => operation.commit());
    }
    return stale.length;
  }
}

function parsePreferences(value: unknown): Preferences | null {
  const parsed = preferencesSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** Runs `task` over `items`, at most `limit` at a time. */
export async function runLimited<T>(
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
