import { type Periodic, runPeriodically } from "../periodic/mod.ts";
import type { Broker } from "../realtime/mod.ts";
import {
  groupMembers,
  type Presence,
  type PresenceEntry,
  type PresenceEvent,
  type PresenceHandle,
  type PresenceMember,
  type PresenceStatus,
  presenceTopic,
} from "./types.ts";

interface StoredEntry {
  userId: string;
  name: string;
  status: PresenceStatus;
  expiresAt: number;
  /** When the connection entered (ms); absent in entries of older versions. */
  joinedAt?: number;
}

/** Options of {@linkcode KvPresence}. */
export interface KvPresenceOptions {
  /** How long an entry lives without a heartbeat (default 30 s): heartbeats every third of it. */
  ttlMs?: number;
  /**
   * Called when a heartbeat, a sweep or the goodbye on dispose fails (`loop`:
   * `presence_heartbeat`, `presence_sweep`, `presence_cleanup`); the loops run
   * on, and entries that were not refreshed or deleted expire within the TTL.
   */
  onError?: (error: unknown, loop: string) => void;
}

function entryKey(scope: string, userId: string, connectionId: string): Deno.KvKey {
  return ["presence", scope, userId, connectionId];
}
function markerKey(scope: string, userId: string): Deno.KvKey {
  return ["presence_online", scope, userId];
}

/**
 * Presence in Deno KV. Each connection has an entry with `expireIn`, refreshed
 * by heartbeats; a user's "online" marker decides who announces join and leave
 * (claimed with an atomic check, so exactly one isolate publishes each). When a
 * process dies without saying goodbye its entries expire and the sweep of any
 * isolate still serving the scope publishes `user_left`.
 */
export class KvPresence implements Presence {
  #kv: Deno.Kv;
  #broker: Broker;
  #ttlMs: number;
  #handles = new Map<string, { scope: string; entry: StoredEntry; connectionId: string }>();
  #heartbeat: Periodic;
  #sweeper: Periodic;
  #onError: (error: unknown, loop: string) => void;

  constructor(kv: Deno.Kv, broker: Broker, options: KvPresenceOptions = {}) {
    this.#kv = kv;
    this.#broker = broker;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#onError = options.onError ?? (() => {});
    this.#heartbeat = runPeriodically(() => this.#refreshAll(), {
      intervalMs: this.#ttlMs / 3,
      onError: (error) => this.#onError(error, "presence_heartbeat"),
    });
    this.#sweeper = runPeriodically(() => this.#sweepAll(), {
      intervalMs: this.#ttlMs / 2,
      onError: (error) => this.#onError(error, "presence_sweep"),
    });
  }

  async enter(scope: string, entry: PresenceEntry): Promise<PresenceHandle> {
    const stored: StoredEntry = {
      userId: entry.userId,
      name: entry.name,
      status: entry.status ?? "online",
      expiresAt: Date.now() + this.#ttlMs,
      joinedAt: Date.now(),
    };
    const handleKey = `${scope}\u0000${entry.connectionId}`;
    this.#handles.set(handleKey, { scope, entry: stored, connectionId: entry.connectionId });
    // The entry and the claim of the "online" marker go out together (one round trip).
    await Promise.all([
      this.#write(scope, entry.connectionId, stored),
      this.#claimJoin(scope, stored),
    ]);
    let left = false;
    const leave = async () => {
      if (left) return;
      left = true;
      this.#handles.delete(handleKey);
      await this.#kv.delete(entryKey(scope, stored.userId, entry.connectionId));
      await this.#announceLeaveIfGone(scope, stored.userId);
    };
    return {
      setStatus: async (status) => {
        if (left || stored.status === status) return;
        stored.status = status;
        await this.#write(scope, entry.connectionId, stored);
        // A user is "online" while any of their connections is: announce the combined status.
        const now = Date.now();
        let combined: PresenceStatus = "away";
        for await (
          const other of this.#kv.list<StoredEntry>({ prefix: ["presence", scope, stored.userId] })
        ) {
          if (other.value && other.value.expiresAt > now && other.value.status === "online") {
            combined = "online";
          }
        }
        await this.#broker.publish<PresenceEvent>(presenceTopic(scope), {
          type: "presence",
          userId: stored.userId,
          name: stored.name,
          status: combined,
        });
      },
      leave,
      [Symbol.asyncDispose]: leave,
    };
  }

  async list(scope: string): Promise<PresenceMember[]> {
    return groupMembers(await this.#liveEntries(scope, "eventual"));
  }

  /** Publishes `user_left` for users whose every entry expired. Returns their ids. */
  async sweep(scope: string): Promise<string[]> {
    // Strong: a user seen online nowhere is announced gone, so a lagging replica must not decide.
    const live = new Set((await this.#liveEntries(scope, "strong")).map((entry) => entry.userId));
    const gone: string[] = [];
    for await (
      const marker of this.#kv.list<{ name: string }>({ prefix: ["presence_online", scope] })
    ) {
      const userId = String(marker.key[2]);
      if (live.has(userId)) continue;
      if (await this.#releaseMarker(scope, userId, marker)) gone.push(userId);
    }
    return gone;
  }

  /**
   * Entries not past their expiry. For showing who is online, a moment ago is as
   * good as now (an eventual read, from a local replica on Deno Deploy); big
   * pages keep a crowded channel to a few round trips.
   */
  async #liveEntries(
    scope: string,
    consistency: Deno.KvConsistencyLevel,
  ): Promise<(StoredEntry & { connectionId: string })[]> {
    const now = Date.now();
    const entries: (StoredEntry & { connectionId: string })[] = [];
    const iterator = this.#kv.list<StoredEntry>({ prefix: ["presence", scope] }, {
      consistency,
      batchSize: 500,
    });
    for await (const entry of iterator) {
      if (entry.value && entry.value.expiresAt > now) {
        entries.push({ ...entry.value, connectionId: String(entry.key[3]) });
      }
    }
    return entries;
  }

  async #write(scope: string, connectionId: string, stored: StoredEntry): Promise<void> {
    stored.expiresAt = Date.now() + this.#ttlMs;
    await this.#kv.set(entryKey(scope, stored.userId, connectionId), stored, {
      expireIn: this.#ttlMs,
    });
  }

  async #claimJoin(scope: string, stored: StoredEntry): Promise<void> {
    const key = markerKey(scope, stored.userId);
    const claimed = await this.#kv.atomic().check({ key, versionstamp: null }).set(key, {
      name: stored.name,
    }).commit();
    if (!claimed.ok) return;
    await this.#broker.publish<PresenceEvent>(presenceTopic(scope), {
      type: "user_joined",
      userId: stored.userId,
      name: stored.name,
      status: stored.status,
    });
  }

  async #announceLeaveIfGone(scope: string, userId: string): Promise<void> {
    const now = Date.now();
    for await (const entry of this.#kv.list<StoredEntry>({ prefix: ["presence", scope, userId] })) {
      if (entry.value && entry.value.expiresAt > now) return;
    }
    const marker = await this.#kv.get<{ name: string }>(markerKey(scope, userId));
    if (marker.versionstamp) await this.#releaseMarker(scope, userId, marker);
  }

  async #releaseMarker(
    scope: string,
    userId: string,
    marker: Deno.KvEntryMaybe<{ name: string }>,
  ): Promise<boolean> {
    const released = await this.#kv.atomic().check(marker).delete(markerKey(scope, userId))
      .commit();
    if (!released.ok) return false;
    await this.#broker.publish<PresenceEvent>(presenceTopic(scope), {
      type: "user_left",
      userId,
      name: marker.value?.name ?? userId,
    });
    return true;
  }

  async #refreshAll(): Promise<void> {
    const handles = [...this.#handles.values()];
    for (let index = 0; index < handles.length; index += 100) {
      const operation = this.#kv.atomic();
      for (const handle of handles.slice(index, index + 100)) {
        handle.entry.expiresAt = Date.now() + this.#ttlMs;
        operation.set(
          entryKey(handle.scope, handle.entry.userId, handle.connectionId),
          handle.entry,
          {
            expireIn: this.#ttlMs,
          },
        );
      }
      // One failed batch must not keep the others from being refreshed.
      await operation.commit()
        .catch((error) => this.#onError(error, "presence_heartbeat"));
    }
  }

  async #sweepAll(): Promise<void> {
    const scopes = new Set([...this.#handles.values()].map((handle) => handle.scope));
    for (const scope of scopes) {
      await this.sweep(scope).catch((error) => this.#onError(error, "presence_sweep"));
    }
  }

  /** Stops the heartbeat and the sweep (waiting for a run in progress), then deletes this isolate's entries. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#heartbeat[Symbol.asyncDispose]();
    await this.#sweeper[Symbol.asyncDispose]();
    const handles = [...this.#handles.values()];
    this.#handles.clear();
    for (const handle of handles) {
      await this.#kv.delete(entryKey(handle.scope, handle.entry.userId, handle.connectionId))
        .catch((error) => this.#onError(error, "presence_cleanup"));
    }
  }
}
