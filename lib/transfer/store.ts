/**
 * Transfer sessions in Deno KV: a record per session, a copy of it under its code
 * (which keeps codes unique among live sessions and lets a join read the session
 * in one round trip), and a due index the sweeper reads. Every state change is
 * one atomic commit that writes the record and its code copy together and checks
 * the versionstamp they share, so any number of isolates can race on a session
 * and exactly one change wins. Create costs one round trip, join two.
 */
import { newId } from "../ids/mod.ts";
import { codeKey, DUE_PREFIX, dueKey, recordKey } from "./_keys.ts";
import { generateCode, normalizeCode } from "./code.ts";
import { TransferError } from "./errors.ts";
import {
  effectiveState,
  type FileInfo,
  isLive,
  joinedExpiry,
  type LifetimePolicy,
  type TransferRecord,
  transferRecordSchema,
  type TransferRole,
} from "./record.ts";
import { hashTransferToken, newTransferToken, tokenMatches } from "./token.ts";

/** Options of {@linkcode TransferStore.create}. */
export interface CreateOptions {
  /** Files announced to the receiver (validated by the caller). Default none. */
  files?: FileInfo[];
  /** Life of the unjoined session. Default: the store's `defaultTtlMs`. */
  ttlSeconds?: number;
}

/** A new session and the sender's token (returned once, never stored). */
export interface CreatedTransfer {
  record: TransferRecord;
  senderToken: string;
}

/** A joined session and the receiver's token (returned once, never stored). */
export interface JoinedTransfer {
  record: TransferRecord;
  receiverToken: string;
}

/** The outcome of a close. */
export interface ClosedTransfer {
  record: TransferRecord;
  /** Whose token closed it. */
  role: TransferRole;
  /** False when it was closed already (closing is idempotent). */
  changed: boolean;
}

/** What one sweep did. */
export interface SweepReport {
  /** Sessions this sweep moved to `expired` (each is reported by exactly one sweep). */
  expired: TransferRecord[];
  /** Ended sessions whose records were removed. */
  purged: number;
}

/** Transfer sessions: create, join once, authorize, close, keep alive, expire. */
export interface TransferStore {
  /** Creates a session with a fresh code, unique among live sessions. */
  create(options?: CreateOptions): Promise<CreatedTransfer>;
  /** Joins by code; exactly one join ever succeeds. Throws {@linkcode TransferError}. */
  join(code: string): Promise<JoinedTransfer>;
  /** The session with its effective state, or null. */
  get(id: string): Promise<TransferRecord | null>;
  /** The session a code (in any case) belongs to, with its effective state, or null. */
  findByCode(code: string): Promise<TransferRecord | null>;
  /** The live session of `code` if `token` is the token of `role`; throws otherwise. */
  authorize(code: string, role: TransferRole, token: string): Promise<TransferRecord>;
  /** Closes a session with either token. */
  close(id: string, token: string): Promise<ClosedTransfer>;
  /**
   * Marks a live session active now (a peer is connected), which moves its expiry:
   * the idle time from now, at most the maximum age (an unjoined one: never below its ttl).
   */
  touch(id: string): Promise<TransferRecord | null>;
  /** Expires sessions whose time ran out and purges ended ones past their tombstone time. */
  sweep(): Promise<SweepReport>;
}

/** Options of {@linkcode KvTransferStore}. */
export interface TransferStoreOptions {
  /** The clock (ms since the epoch). Default `Date.now`. */
  now?: () => number;
  /** Makes a candidate code (tests force collisions with it). Default: random. */
  codes?: () => string;
  /** Life of an unjoined session when `create` gets no `ttlSeconds`. Default 30 min. */
  defaultTtlMs?: number;
  /** Life of a joined session after the last peer left. Default 1 h. */
  idleMs?: number;
  /** The longest life of any session, from creation. Default 24 h. */
  maxAgeMs?: number;
  /** How long an ended session keeps answering 410 before it is purged. Default 24 h. */
  tombstoneMs?: number;
}

/** Extra life of KV's own `expireIn`, a backstop for when no sweeper ever runs. */
const BACKSTOP_MS = 6 * 3600_000;
/** Tries to find a free code before giving up (a collision needs a live session on it). */
const CODE_ATTEMPTS = 32;
/** Re-reads after a lost race before giving up. */
const COMMIT_ATTEMPTS = 100;
/** Due entries handled per sweep. */
const SWEEP_BATCH = 500;

/** Transfer sessions in Deno KV, shared by every isolate that opens the same KV. */
export class KvTransferStore implements TransferStore {
  #kv: Deno.Kv;
  #now: () => number;
  #codes: () => string;
  #defaultTtlMs: number;
  #policy: LifetimePolicy;
  #tombstoneMs: number;

  constructor(kv: Deno.Kv, options: TransferStoreOptions = {}) {
    this.#kv = kv;
    this.#now = options.now ?? Date.now;
    this.#codes = options.codes ?? generateCode;
    this.#defaultTtlMs = options.defaultTtlMs ?? 30 * 60_000;
    this.#policy = {
      idleMs: options.idleMs ?? 3600_000,
      maxAgeMs: options.maxAgeMs ?? 24 * 3600_000,
    };
    this.#tombstoneMs = options.tombstoneMs ?? 24 * 3600_000;
  }

  async create(options: CreateOptions = {}): Promise<CreatedTransfer> {
    const now = this.#now();
    const ttlMs = Math.min(
      options.ttlSeconds !== undefined ? options.ttlSeconds * 1000 : this.#defaultTtlMs,
      this.#policy.maxAgeMs,
    );
    const id = newId();
    const senderToken = newTransferToken("ts");
    for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
      const code = this.#codes();
      const record: TransferRecord = {
        id,
        code,
        state: "created",
        files: options.files ?? [],
        createdAt: now,
        expiresAt: now + ttlMs,
        joinedAt: null,
        lastActiveAt: null,
        endedAt: null,
        endedBy: null,
        senderTokenHash: hashTransferToken(senderToken),
        receiverTokenHash: null,
      };
      // A fresh code is almost always free: claim it without reading first (one round
      // trip). Only when it is taken is the holder read: a live one keeps it, an ended
      // one hands it over.
      let holder: Deno.KvEntryMaybe<unknown> = {
        key: codeKey(code),
        value: null,
        versionstamp: null,
      };
      if (await this.#commitNew(record, holder, now)) return { record, senderToken };
      holder = await this.#kv.get(codeKey(code));
      const current = parseRecord(holder.value);
      if (current && isLive(effectiveState(current, now))) continue;
      if (await this.#commitNew(record, holder, now)) return { record, senderToken };
    }
    throw new TransferError(
      "code_space_exhausted",
      "Cannot create a transfer session: no free code found, try again",
    );
  }

  /** Stores a new session and its code copy if the code's holder is still `holder`. */
  async #commitNew(
    record: TransferRecord,
    holder: Deno.KvEntryMaybe<unknown>,
    now: number,
  ): Promise<boolean> {
    const expireIn = this.#backstop(record.expiresAt, now);
    const result = await this.#kv.atomic()
      .check(holder)
      .check({ key: recordKey(record.id), versionstamp: null })
      .set(codeKey(record.code), record, { expireIn: this.#codeExpireIn() })
      .set(recordKey(record.id), record, { expireIn })
      .set(dueKey(record.expiresAt, record.id), record.id, { expireIn })
      .commit();
    return result.ok;
  }

  /** The code copy lives as long as the session possibly can, with its tombstone. */
  #codeExpireIn(): number {
    return this.#policy.maxAgeMs + this.#tombstoneMs + BACKSTOP_MS;
  }

  async join(code: string): Promise<JoinedTransfer> {
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      const entry = await this.#readByCode(code);
      if (!entry) throw notFound(code);
      const record = entry.value;
      const now = this.#now();
      const state = effectiveState(record, now);
      if (state === "expired") throw expired(record.code);
      if (state === "closed") throw closed(record.code);
      if (state === "joined") {
        throw new TransferError(
          "session_already_joined",
          `Cannot join session "${record.code}": already joined`,
        );
      }
      const receiverToken = newTransferToken("tr");
      const next: TransferRecord = {
        ...record,
        state: "joined",
        joinedAt: now,
        lastActiveAt: now,
        expiresAt: joinedExpiry(record, now, this.#policy),
        receiverTokenHash: hashTransferToken(receiverToken),
      };
      if (await this.#replace(entry, next, next.expiresAt, now)) {
        return { record: next, receiverToken };
      }
      // Lost a race (another join, or a keep-alive): read again and decide again.
    }
    throw new Error(`Cannot join session "${code}": too much contention`);
  }

  async get(id: string): Promise<TransferRecord | null> {
    const entry = await this.#read(id);
    return entry ? this.#effective(entry.value) : null;
  }

  async findByCode(code: string): Promise<TransferRecord | null> {
    const entry = await this.#readByCode(code);
    return entry ? this.#effective(entry.value) : null;
  }

  async authorize(code: string, role: TransferRole, token: string): Promise<TransferRecord> {
    const record = await this.findByCode(code);
    if (!record) throw notFound(code);
    const hash = role === "creator" ? record.senderTokenHash : record.receiverTokenHash;
    if (!tokenMatches(token, hash)) {
      throw new TransferError(
        "invalid_transfer_token",
        `The token is not the ${role} token of session "${record.code}"`,
      );
    }
    if (record.state === "expired") throw expired(record.code);
    if (record.state === "closed") throw closed(record.code);
    return record;
  }

  async close(id: string, token: string): Promise<ClosedTransfer> {
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      const entry = await this.#read(id);
      if (!entry) throw new TransferError("session_not_found", `No transfer session "${id}"`);
      const record = entry.value;
      const role: TransferRole | null = tokenMatches(token, record.senderTokenHash)
        ? "creator"
        : tokenMatches(token, record.receiverTokenHash)
        ? "joiner"
        : null;
      if (!role) {
        throw new TransferError(
          "invalid_transfer_token",
          `The token does not belong to session "${record.code}"`,
        );
      }
      const now = this.#now();
      const state = effectiveState(record, now);
      if (state === "closed") return { record, role, changed: false };
      if (state === "expired") throw expired(record.code);
      const next: TransferRecord = { ...record, state: "closed", endedAt: now, endedBy: role };
      if (await this.#replace(entry, next, now + this.#tombstoneMs, now)) {
        return { record: next, role, changed: true };
      }
    }
    throw new Error(`Cannot close session "${id}": too much contention`);
  }

  async touch(id: string): Promise<TransferRecord | null> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await this.#read(id);
      if (!entry) return null;
      const record = entry.value;
      const now = this.#now();
      const state = effectiveState(record, now);
      if (state !== "joined" && state !== "created") return this.#effective(record);
      // An unjoined session whose creator is connected lives on too (as the signaling design
      // promises): the idle time from now, never shorter than its ttl nor past its maximum age.
      const expiresAt = state === "joined"
        ? joinedExpiry(record, now, this.#policy)
        : Math.max(record.expiresAt, joinedExpiry(record, now, this.#policy));
      const next: TransferRecord = { ...record, lastActiveAt: now, expiresAt };
      if (await this.#replace(entry, next, next.expiresAt, now)) return next;
    }
    return null;
  }

  async sweep(): Promise<SweepReport> {
    const now = this.#now();
    const report: SweepReport = { expired: [], purged: 0 };
    const due = this.#kv.list<string>(
      { start: DUE_PREFIX, end: [...DUE_PREFIX, now + 1] },
      { limit: SWEEP_BATCH },
    );
    for await (const item of due) {
      const id = String(item.key[2]);
      const at = Number(item.key[1]);
      const entry = await this.#read(id);
      if (!entry) {
        await this.#kv.atomic().check(item).delete(item.key).commit();
        continue;
      }
      const record = entry.value;
      if (dueAt(record, this.#tombstoneMs) !== at) {
        // Left behind by an older version of the record: the current one has its own entry.
        await this.#kv.atomic().check(item).delete(item.key).commit();
        continue;
      }
      if (isLive(record.state)) {
        if (record.expiresAt > now) continue;
        const next: TransferRecord = {
          ...record,
          state: "expired",
          endedAt: now,
          endedBy: "server",
        };
        if (await this.#replace(entry, next, now + this.#tombstoneMs, now)) {
          report.expired.push(next);
        }
        continue;
      }
      if (await this.#purge(entry, item)) report.purged += 1;
    }
    return report;
  }

  /**
   * Deletes an ended session: its record, its due entry, and its code copy while
   * that still carries it (checked by the shared versionstamp; if another session
   * took the code over, the record goes alone).
   */
  async #purge(entry: Stored, due: Deno.KvEntry<unknown>): Promise<boolean> {
    const { id, code } = entry.value;
    for (const withCode of [true, false]) {
      const operation = this.#kv.atomic()
        .check({ key: recordKey(id), versionstamp: entry.versionstamp })
        .check(due).delete(recordKey(id)).delete(due.key);
      if (withCode) {
        operation.check({ key: codeKey(code), versionstamp: entry.versionstamp })
          .delete(codeKey(code));
      }
      const result = await operation.commit();
      if (result.ok) return true;
      if (!withCode || !(await this.#codeMovedOn(entry))) return false;
    }
    return false;
  }

  #effective(record: TransferRecord): TransferRecord {
    const state = effectiveState(record, this.#now());
    return state === record.state ? record : { ...record, state };
  }

  #backstop(dueAt: number, now: number): number {
    return Math.max(0, dueAt - now) + this.#tombstoneMs + BACKSTOP_MS;
  }

  /** A session by id; `codeHeld` says whether its code copy still carries it (assumed so). */
  async #read(id: string): Promise<Stored | null> {
    const entry = await this.#kv.get<unknown>(recordKey(id));
    const record = parseRecord(entry.value);
    if (entry.versionstamp === null || !record) return null;
    return { value: record, versionstamp: entry.versionstamp, codeHeld: true };
  }

  /** A session by code: its code copy, one read. */
  async #readByCode(input: string): Promise<Stored | null> {
    const code = normalizeCode(input);
    if (!code) return null;
    const entry = await this.#kv.get<unknown>(codeKey(code));
    const record = parseRecord(entry.value);
    if (entry.versionstamp === null || !record || record.code !== code) return null;
    return { value: record, versionstamp: entry.versionstamp, codeHeld: true };
  }

  /**
   * Replaces a record (if unchanged since read) with its code copy, and moves its
   * due entry. The copy is written while it carries this session: both keys share
   * one versionstamp, so one check covers each. When another session took the
   * code over (this one ended), the record is written alone.
   */
  async #replace(
    entry: Stored,
    next: TransferRecord,
    nextDue: number,
    now: number,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const previousDue = dueAt(entry.value, this.#tombstoneMs);
      const expireIn = this.#backstop(nextDue, now);
      const operation = this.#kv.atomic()
        .check({ key: recordKey(next.id), versionstamp: entry.versionstamp })
        .set(recordKey(next.id), next, { expireIn });
      if (entry.codeHeld) {
        operation.check({ key: codeKey(next.code), versionstamp: entry.versionstamp })
          .set(codeKey(next.code), next, { expireIn: this.#codeExpireIn() });
      }
      if (previousDue !== nextDue) operation.delete(dueKey(previousDue, next.id));
      operation.set(dueKey(nextDue, next.id), next.id, { expireIn });
      const result = await operation.commit();
      if (result.ok) return true;
      if (!entry.codeHeld || !(await this.#codeMovedOn(entry))) return false;
      entry = { ...entry, codeHeld: false };
    }
    return false;
  }

  /** True when the session's record is unchanged but its code copy now carries another session. */
  async #codeMovedOn(entry: Stored): Promise<boolean> {
    const [record, copy] = await this.#kv.getMany([
      recordKey(entry.value.id),
      codeKey(entry.value.code),
    ]);
    return record!.versionstamp === entry.versionstamp &&
      parseRecord(copy!.value)?.id !== entry.value.id;
  }
}

/** A session as read, with the versionstamp its record and code copy share. */
interface Stored {
  value: TransferRecord;
  versionstamp: string;
  /** The code copy carries this session (written together with the record). */
  codeHeld: boolean;
}

function parseRecord(value: unknown): TransferRecord | null {
  const parsed = transferRecordSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** When the sweeper should look at a record next: expiry while live, purge once ended. */
function dueAt(record: TransferRecord, tombstoneMs: number): number {
  return isLive(record.state)
    ? record.expiresAt
    : (record.endedAt ?? record.expiresAt) + tombstoneMs;
}

function notFound(code: string): TransferError {
  return new TransferError(
    "session_not_found",
    `No transfer session with code "${code.slice(0, 12)}"`,
  );
}

function expired(code: string): TransferError {
  return new TransferError("session_expired", `Transfer session "${code}" has expired`);
}

function closed(code: string): TransferError {
  return new TransferError("session_closed", `Transfer session "${code}" was closed`);
}
