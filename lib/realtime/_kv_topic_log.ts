import { exceedsUtf8Bytes, utf8Bytes } from "../text/mod.ts";
import { historyLimit, newEpoch, type TopicLog } from "./_topic_log.ts";
import { retentionFor } from "./retention.ts";
import {
  countInWindow,
  type EventWrites,
  type HistoryOptions,
  type Position,
  PublishError,
  type PublishOptions,
  type PublishResult,
  type PublishWindow,
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
function markerKey(topic: string, id: string): Deno.KvKey {
  return ["topics", topic, "chain", id];
}

/** Deno KV leaves room for the envelope below its 64 KiB value limit. */
const MAX_EVENT_BYTES = 60 * 1024;

/** A topic head as stored in KV. */
export interface StoredHead {
  offset: number;
  epoch: string;
  time: number;
  /** Limited publishes of the current minute (see `PublishOptions.perMinute`). */
  window?: PublishWindow;
  /** Bytes of every event published to the topic (see `PublishOptions.quota`). */
  bytes?: number;
}

/** A head this isolate knows with the versionstamp a commit can check (null: no head yet). */
export interface KnownHead {
  offset: number;
  epoch: string | null;
  versionstamp: string | null;
  window?: PublishWindow | undefined;
  bytes?: number | undefined;
}

/** A head a commit of this isolate wrote (for other isolates: see `onHeadsWritten`). */
export interface WrittenHead {
  topic: string;
  offset: number;
  epoch: string;
  versionstamp: string;
  window?: PublishWindow | undefined;
  bytes?: number | undefined;
}

interface Pending {
  data: unknown;
  /** Approximate bytes it adds to a commit (event, its idempotency copy, its writes). */
  size: number;
  key: string | undefined;
  writes: EventWrites | undefined;
  perMinute: number | undefined;
  quota: { events: number; bytes: number } | undefined;
  /** UTF-8 bytes of the event's JSON (counted against a quota). */
  bytes: number;
  resolve(event: PublishResult<unknown>): void;
  reject(error: unknown): void;
}

/** One topic's part of one commit in flight. */
interface Flight {
  /** Position in the topic's chain of commits. */
  seq: number;
  /** The marker this commit creates (its successor deletes it), if any. */
  marker: string | null;
  /** The marker this commit deletes (its predecessor's), if any. */
  deletes: string | null;
  items: Pending[];
  /** Set when it failed: its items go back to the queue. */
  failed: boolean;
}

/** How a batch knows where the topic's log ends. */
export type Basis = "read" | "known" | "pipelined";

/** What this isolate knows and holds of one topic. */
interface TopicState {
  topic: string;
  queue: Pending[];
  /** The head after the newest commit known to have landed; null: read it first. */
  confirmed: KnownHead | null;
  /** The chain position of the commit that produced `confirmed` (-1: learned elsewhere). */
  confirmedSeq: number;
  /** The marker the confirmed commit created, and when it was confirmed. */
  confirmedMarker: { id: string; at: number } | null;
  /** Commits in flight for this topic, oldest first. */
  flights: Flight[];
  /** Where the log ends once every commit in flight landed. */
  tip:
    | { offset: number; epoch: string; window: PublishWindow | undefined; bytes: number }
    | null;
  nextSeq: number;
  /** A commit failed: the ones after it fail too; when none is left, the failed items go back. */
  broken: Flight[] | null;
  lastIssuedAt: number;
  /** Another writer moved the head: read it before each commit until then. */
  readFirstUntil: number;
  /** The versionstamp a failed commit trusted: if a read shows another, the topic is contended. */
  suspect: string | null;
  /** Failed commits in a row: after two, the topic commits alone. */
  failures: number;
}

/** One topic's batch in a commit being prepared. */
interface Batch {
  state: TopicState;
  flight: Flight;
  basis: Basis;
}

/** What one publish of a committed batch gets: its new event, the stored one it repeats, or a refusal. */
interface Outcome {
  item: Pending;
  event?: TopicEvent;
  existing?: TopicEvent;
  refused?: PublishError;
}

/**
 * Deno KV's limits per atomic operation: ≤ 800 KiB and ≤ 1000 mutations, and at
 * most 10 checks on KV Connect (Deno Deploy, denokv), 100 on a local file.
 * Each topic costs its checks (head or chain markers, idempotency keys); each
 * event a write, a trim, maybe its copy.
 */
const DEFAULT_CHECKS = 10;
const GROUP_MUTATIONS = 1000;
const GROUP_BYTES = 600 * 1024;
/** Events of one topic per commit. */
const BATCH_EVENTS = 200;
/** Topics whose state this isolate keeps (idle ones are forgotten first). */
const REMEMBERED_TOPICS = 20_000;
/** After another writer moved a remembered head, read heads of that topic first for this long. */
const CONTENDED_MS = 10_000;
/**
 * A topic is hot when publishes wait behind its commit, or it has one in flight,
 * or it had one this recently: then its commits leave a marker to pipeline on. (A
 * fan-out touches each topic once: no marker, no extra writes.)
 */
const HOT_MS = 200;
/** Markers live this long in KV; one is trusted for this much less (KV deletes late, never early). */
const MARKER_TTL_MS = 10 * 60_000;
const MARKER_TRUSTED_MS = 60_000;

function randomId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(9)), (byte) => byte.toString(36)).join(
    "",
  );
}

/** What one commit attempt did (for metrics). */
export interface CommitReport {
  outcome: "ok" | "conflict" | "error";
  /** How its batches knew where each log ends: read first, known, or pipelined. */
  basis: Basis;
  topics: number;
  events: number;
  ms: number;
}

/** Options of {@linkcode KvTopicLog}. */
export interface KvTopicLogOptions {
  retention?: Record<string, Partial<RetentionPolicy>>;
  /** Called after each commit with the heads it wrote (other isolates can learn them). */
  onHeadsWritten?: (heads: WrittenHead[]) => void;
  /** Called with a head read from KV (other isolates can learn it too). */
  onHeadRead?: (topic: string, head: KnownHead) => void;
  /** Called after each commit attempt (metrics): its outcome, how it knew the heads, its time. */
  onCommit?: (commit: CommitReport) => void;
  /**
   * How far KV is (default "remote"). A local SQLite file commits in a fraction of
   * a millisecond and serializes writes: 4 commits in flight keep it busy, and
   * publishes that wait meanwhile share the next commit (fewer, larger commits
   * save CPU). Deno KV on Deno Deploy (or denokv) takes 7–194 ms per commit and
   * runs commits concurrently: there, waiting for a slot costs whole round trips,
   * so up to 256 commits go out at once and a busy topic pipelines 3.
   */
  kv?: "local" | "remote";
  /** Checks per atomic operation: 10 (KV Connect, the default) or 100 (a local file). */
  maxChecks?: number;
  /** Commits in flight at once (default by `kv`). */
  inFlight?: number;
  /** Commits in flight per topic (default by `kv`). */
  pipelineDepth?: number;
}

/**
 * Topic logs in Deno KV, written with as few sequential KV round trips as Deno
 * KV allows: one commit per publish, never a read first when this isolate
 * knows the head.
 *
 * - **One commit.** A publish is one atomic operation: a check that the head did
 *   not move, the event under the next offset, the moved head, a trim, and the
 *   publisher's own writes (`writes`) for the same commit. Idempotency keys are
 *   checked as absent in that same commit instead of being read first.
 * - **Known heads.** The head this isolate's last commit wrote, or learned from
 *   another isolate (BroadcastChannel) or a watch, is checked without reading
 *   it. If another writer moved it, the commit fails, the head is read, and the
 *   topic is read-first for a while.
 * - **Group commit.** Publishes that wait while their topic is busy go into its
 *   next commit; several topics share one atomic operation within KV's limits.
 *   How many commits go out at once depends on how far KV is (see `kv`).
 * - **Pipelining.** When a round trip is slow, a busy topic keeps up to three
 *   commits in flight. A commit cannot check a head that an earlier commit in
 *   flight has not written yet, so each commit of a hot topic creates a marker
 *   key and deletes its predecessor's; a pipelined commit checks that the
 *   markers created by the commits before its predecessor are gone (so every
 *   earlier commit landed) and that its first offset is still free (so no other
 *   writer took it). It lands only after all earlier ones: offsets stay gapless
 *   and the head never moves back. When one fails, the ones after it fail too,
 *   and their publishes go back to the queue in order.
 */
export class KvTopicLog implements TopicLog {
  #kv: Deno.Kv;
  #retention: Record<string, Partial<RetentionPolicy>>;
  #onHeadsWritten: KvTopicLogOptions["onHeadsWritten"];
  #onHeadRead: KvTopicLogOptions["onHeadRead"];
  #onCommit: KvTopicLogOptions["onCommit"];
  #inFlightLimit: number;
  #pipelineDepth: number;
  #maxChecks: number;
  #states = new Map<string, TopicState>();
  /** Topics that can start a commit now, in arrival order. */
  #ready = new Set<TopicState>();
  #inFlight = 0;
  #pumpScheduled = false;
  #headReads = new Map<string, Promise<Position | null>>();
  /** The data of the last append and its JSON (see `append`). */
  #lastData: unknown = undefined;
  #lastJson: string | undefined = undefined;

  constructor(kv: Deno.Kv, options: KvTopicLogOptions = {}) {
    this.#kv = kv;
    this.#retention = options.retention ?? {};
    this.#onHeadsWritten = options.onHeadsWritten;
    this.#onHeadRead = options.onHeadRead;
    this.#onCommit = options.onCommit;
    this.#maxChecks = options.maxChecks ?? DEFAULT_CHECKS;
    const local = options.kv === "local";
    this.#inFlightLimit = options.inFlight ?? (local ? 4 : 256);
    this.#pipelineDepth = options.pipelineDepth ?? (local ? 1 : 3);
  }

  append<T>(topic: string, data: T, options: PublishOptions = {}): Promise<PublishResult<T>> {
    // A fan-out appends one payload object to many topics in one go: measured once
    // (forgotten at the next microtask, so an object changed later is measured again).
    if (data !== this.#lastData || this.#lastJson === undefined) {
      this.#lastData = data;
      this.#lastJson = JSON.stringify(data) ?? "";
    }
    const json = this.#lastJson;
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
    // and an event with an idempotency key is stored twice.
    const size = json.length * 2 * (options.idempotencyKey ? 2 : 1) + 200 +
      (options.writes?.bytes ?? 0);
    return new Promise((resolve, reject) => {
      const state = this.#state(topic);
      state.queue.push({
        data,
        size,
        key: options.idempotencyKey,
        writes: options.writes,
        perMinute: options.perMinute,
        quota: options.quota,
        bytes: options.quota ? utf8Bytes(json) : json.length,
        resolve,
        reject,
      } as Pending);
      this.#consider(state);
      // Once per microtask: publishes made in one go (a fan-out) form full groups first.
      if (!this.#pumpScheduled) {
        this.#pumpScheduled = true;
        queueMicrotask(() => {
          this.#pumpScheduled = false;
          this.#lastData = this.#lastJson = undefined;
          this.#pump();
        });
      }
    });
  }

  /**
   * Takes a head seen elsewhere (another isolate's commit, a watch, a read), so
   * the next publish to the topic can check it without reading it first.
   */
  learnHead(topic: string, head: KnownHead): void {
    const state = this.#states.get(topic);
    if (!state) {
      if (this.#states.size >= REMEMBERED_TOPICS) return;
      this.#state(topic).confirmed = head;
      return;
    }
    if (state.flights.length > 0 || state.broken) return;
    const known = state.confirmed;
    if (
      known === null || head.offset > known.offset ||
      (head.epoch !== null && known.epoch !== null && head.epoch !== known.epoch)
    ) {
      state.confirmed = head;
      state.confirmedSeq = -1;
      state.confirmedMarker = null;
    }
  }

  #state(topic: string): TopicState {
    let state = this.#states.get(topic);
    if (state) {
      // Most recently used last: the oldest idle states are forgotten first.
      this.#states.delete(topic);
      this.#states.set(topic, state);
      return state;
    }
    state = {
      topic,
      queue: [],
      confirmed: null,
      confirmedSeq: -1,
      confirmedMarker: null,
      flights: [],
      tip: null,
      nextSeq: 0,
      broken: null,
      lastIssuedAt: 0,
      readFirstUntil: 0,
      suspect: null,
      failures: 0,
    };
    this.#states.set(topic, state);
    if (this.#states.size > REMEMBERED_TOPICS) {
      for (const [name, old] of this.#states) {
        if (this.#states.size <= REMEMBERED_TOPICS) break;
        if (old.queue.length === 0 && old.flights.length === 0 && !old.broken) {
          this.#states.delete(name);
        }
      }
    }
    return state;
  }

  /** The basis the topic's next batch would commit on, or null when it must wait. */
  #basis(state: TopicState, now: number): Basis | null {
    if (state.broken) return null;
    if (state.flights.length === 0) {
      return state.confirmed && now >= state.readFirstUntil ? "known" : "read";
    }
    const marker = state.confirmedMarker;
    const canPipeline = state.flights.length < this.#pipelineDepth && marker !== null &&
      now - marker.at < MARKER_TRUSTED_MS && state.flights[0]!.deletes === marker.id &&
      state.flights.every((flight) => flight.marker !== null) && state.tip !== null;
    return canPipeline ? "pipelined" : null;
  }

  #consider(state: TopicState): void {
    if (state.queue.length > 0 && this.#basis(state, Date.now()) !== null) {
      this.#ready.add(state);
    }
  }

  /** Starts commits while slots are free, each taking as many ready topics as fit. */
  #pump(): void {
    while (this.#inFlight < this.#inFlightLimit && this.#ready.size > 0) {
      const group = this.#takeGroup();
      if (group.length === 0) break;
      this.#inFlight += 1;
      void this.#commit(group).finally(() => {
        this.#inFlight -= 1;
        this.#pump();
      });
      // Prepared now (a known head needs no read): topics that can pipeline more stay ready.
      for (const batch of group) this.#consider(batch.state);
    }
  }

  /**
   * The next commit's batches: ready topics in arrival order that need a read
   * first, or ones that do not (never both: a known head should not wait for
   * another topic's read), as many as Deno KV's limits allow.
   */
  #takeGroup(): Batch[] {
    const group: Batch[] = [];
    const now = Date.now();
    let checks = 0;
    let mutations = 0;
    let bytes = 0;
    let reads: boolean | null = null;
    for (const state of this.#ready) {
      const basis = this.#basis(state, now);
      if (basis === null || state.queue.length === 0) {
        this.#ready.delete(state);
        continue;
      }
      if (reads !== null && (basis === "read") !== reads) continue;
      const solo = state.failures >= 2;
      if (solo && group.length > 0) continue;
      const chainChecks = basis === "pipelined" ? state.flights.length + 1 : 1;
      const plan = this.#plan(state.queue, this.#maxChecks - chainChecks);
      const cost = {
        checks: chainChecks + plan.keys,
        mutations: plan.mutations + 3,
        bytes: plan.bytes,
      };
      if (
        group.length > 0 &&
        (checks + cost.checks > this.#maxChecks || mutations + cost.mutations > GROUP_MUTATIONS ||
          bytes + cost.bytes > GROUP_BYTES)
      ) {
        if (checks >= this.#maxChecks - 1) break;
        continue;
      }
      checks += cost.checks;
      mutations += cost.mutations;
      bytes += cost.bytes;
      reads = basis === "read";
      this.#ready.delete(state);
      const hot = state.queue.length > plan.count || state.flights.length > 0 ||
        now - state.lastIssuedAt < HOT_MS;
      const pipelining = this.#pipelineDepth > 1;
      const flight: Flight = {
        seq: state.nextSeq++,
        marker: pipelining && hot && basis !== "read" ? randomId() : null,
        deletes: basis === "known"
          ? state.confirmedMarker?.id ?? null
          : basis === "pipelined"
          ? state.flights.at(-1)!.marker
          : null,
        items: state.queue.splice(0, plan.count),
        failed: false,
      };
      state.flights.push(flight);
      state.lastIssuedAt = now;
      group.push({ state, flight, basis });
      if (solo) break;
    }
    return group;
  }

  /** How many of `items` (from the front) the next batch of their topic takes, and its cost. */
  #plan(items: Pending[], checksLeft: number) {
    let count = 0;
    let keys = 0;
    let mutations = 0;
    let bytes = 0;
    for (const item of items) {
      const itemMutations = 2 + (item.key ? 1 : 0) + (item.writes?.mutations ?? 0);
      if (count > 0) {
        if (count >= BATCH_EVENTS || bytes + item.size > GROUP_BYTES) break;
        if (mutations + itemMutations + 3 > GROUP_MUTATIONS) break;
        if (item.key && keys >= checksLeft) break;
      }
      if (item.key) keys += 1;
      mutations += itemMutations;
      bytes += item.size;
      count += 1;
    }
    return { count, keys, mutations, bytes };
  }

  /** Reads `keys` (≤ 10 per `getMany`, concurrently). */
  async #readMany(keys: Deno.KvKey[]): Promise<Deno.KvEntryMaybe<unknown>[]> {
    const chunks: Deno.KvKey[][] = [];
    for (let start = 0; start < keys.length; start += 10) {
      chunks.push(keys.slice(start, start + 10));
    }
    const results = await Promise.all(
      chunks.map((chunk) => this.#kv.getMany<unknown[]>(chunk)),
    );
    return results.flat();
  }

  /** Prepares, commits and settles one group; never throws (failures reach the publishers). */
  async #commit(group: Batch[]): Promise<void> {
    const report = (outcome: CommitReport["outcome"], ms: number) =>
      this.#onCommit?.({
        outcome,
        basis: group.some((batch) => batch.basis === "pipelined") ? "pipelined" : group[0]!.basis,
        topics: group.length,
        events: group.reduce((sum, batch) => sum + batch.flight.items.length, 0),
        ms,
      });
    try {
      const reading = group[0]!.basis === "read";
      const read = reading
        ? await this.#readMany(group.flatMap(({ state, flight }) => [
          headKey(state.topic),
          ...distinctKeys(flight.items).map((key) => dedupeKey(state.topic, key)),
        ]))
        : [];
      let at = 0;
      const operation = this.#kv.atomic();
      const time = Date.now();
      const collected = new Map<string, { key: Deno.KvKey; items: unknown[]; expireIn?: number }>();
      const collect = (writes: EventWrites) => {
        const shared = writes.collect;
        if (!shared) return;
        const id = JSON.stringify(shared.key);
        const row = collected.get(id);
        if (row) row.items.push(shared.item);
        else {collected.set(id, {
            key: shared.key,
            items: [shared.item],
            expireIn: shared.expireIn,
          });}
      };
      const prepared = group.map((batch) => {
        if (batch.basis !== "read") {
          return { batch, ...this.#write(operation, batch, time, collect) };
        }
        const head = read[at++] as Deno.KvEntryMaybe<StoredHead>;
        const keys = distinctKeys(batch.flight.items);
        const dedupes = keys.map(() => read[at++] as Deno.KvEntryMaybe<TopicEvent>);
        const { state } = batch;
        if (state.suspect !== null && state.suspect !== head.versionstamp) {
          state.readFirstUntil = Date.now() + CONTENDED_MS;
        }
        state.suspect = null;
        return {
          batch,
          ...this.#write(operation, batch, time, collect, { head, keys, dedupes }),
        };
      });
      if (collected.size > 0) {
        const commitId = randomId();
        for (const row of collected.values()) {
          operation.set([...row.key, commitId], row.items, { expireIn: row.expireIn });
        }
      }
      const started = performance.now();
      const result = await operation.commit();
      const ms = performance.now() - started;
      report(result.ok ? "ok" : "conflict", ms);
      if (!result.ok) {
        for (const { batch } of prepared) this.#failed(batch);
        return;
      }
      const written: WrittenHead[] = [];
      for (const { batch, newHead, readHead } of prepared) {
        const { state, flight } = batch;
        state.failures = 0;
        if (flight.seq > state.confirmedSeq) {
          state.confirmedSeq = flight.seq;
          state.confirmedMarker = flight.marker ? { id: flight.marker, at: Date.now() } : null;
          if (newHead) {
            state.confirmed = {
              offset: newHead.offset,
              epoch: newHead.epoch,
              versionstamp: result.versionstamp,
              window: newHead.window,
              bytes: newHead.bytes,
            };
            written.push({
              topic: state.topic,
              offset: newHead.offset,
              epoch: newHead.epoch,
              versionstamp: result.versionstamp,
              window: newHead.window,
              bytes: newHead.bytes,
            });
          } else if (readHead) {
            state.confirmed = readHead;
          }
        }
      }
      if (written.length > 0) this.#onHeadsWritten?.(written);
      for (const { batch, outcomes } of prepared) {
        this.#settled(batch);
        for (const outcome of outcomes) {
          if (outcome.event) outcome.item.resolve({ ...outcome.event, duplicate: false });
          else if (outcome.existing) outcome.item.resolve({ ...outcome.existing, duplicate: true });
          else outcome.item.reject(outcome.refused);
        }
      }
    } catch (error) {
      report("error", 0);
      for (const batch of group) {
        for (const item of batch.flight.items) item.reject(error);
        batch.flight.items = [];
        this.#failed(batch);
      }
    }
  }

  /**
   * Adds one topic's batch to `operation`: its checks (the read head, the known
   * head, or the chain markers and first offset), its events under the next
   * offsets with trims and idempotency copies, the publishers' writes, the moved
   * head and the chain marker.
   */
  #write(
    operation: Deno.AtomicOperation,
    batch: Batch,
    time: number,
    collect: (writes: EventWrites) => void,
    read?: {
      head: Deno.KvEntryMaybe<StoredHead>;
      keys: string[];
      dedupes: Deno.KvEntryMaybe<TopicEvent>[];
    },
  ): { outcomes: Outcome[]; newHead: StoredHead | null; readHead: KnownHead | null } {
    const { state, flight, basis } = batch;
    const { topic } = state;
    const policy = retentionFor(topic, this.#retention);
    const known = new Map<string, TopicEvent>();
    let offset: number;
    let epoch: string;
    let window: PublishWindow | undefined;
    let bytes = 0;
    let readHead: KnownHead | null = null;
    if (read) {
      operation.check(read.head);
      offset = read.head.value?.offset ?? 0;
      epoch = read.head.value?.epoch ?? newEpoch();
      window = read.head.value?.window;
      bytes = read.head.value?.bytes ?? 0;
      readHead = {
        offset,
        epoch: read.head.value?.epoch ?? null,
        versionstamp: read.head.versionstamp,
        window,
        bytes,
      };
      read.dedupes.forEach((entry, index) => {
        if (entry.value != null) known.set(read.keys[index]!, entry.value);
        else operation.check(entry);
      });
    } else if (basis === "known") {
      const head = state.confirmed!;
      operation.check({ key: headKey(topic), versionstamp: head.versionstamp });
      offset = head.offset;
      epoch = head.epoch ?? newEpoch();
      window = head.window;
      bytes = head.bytes ?? 0;
      // Checked as absent in this very commit instead of read first (one round trip).
      for (const key of distinctKeys(flight.items)) {
        operation.check({ key: dedupeKey(topic, key), versionstamp: null });
      }
    } else {
      // Pipelined: every earlier commit landed (their predecessors' markers are gone) and
      // nobody took the first offset meanwhile.
      const chain = [
        state.confirmedMarker!.id,
        ...state.flights.slice(0, -1).map((f) => f.marker!),
      ];
      const checked = chain.slice(0, chain.length - 1);
      for (const id of checked) operation.check({ key: markerKey(topic, id), versionstamp: null });
      offset = state.tip!.offset;
      epoch = state.tip!.epoch;
      window = state.tip!.window;
      bytes = state.tip!.bytes;
      operation.check({ key: eventKey(topic, offset + 1), versionstamp: null });
      for (const key of distinctKeys(flight.items)) {
        operation.check({ key: dedupeKey(topic, key), versionstamp: null });
      }
    }
    const startOffset = offset;
    const outcomes: Outcome[] = [];
    const assigned = new Map<string, TopicEvent>();
    for (const item of flight.items) {
      const repeated = item.key ? known.get(item.key) ?? assigned.get(item.key) : undefined;
      if (repeated) {
        outcomes.push({ item, existing: repeated });
        continue;
      }
      if (item.quota && (offset + 1 > item.quota.events || bytes + item.bytes > item.quota.bytes)) {
        outcomes.push({
          item,
          refused: new PublishError(
            "quota_exceeded",
            `"${topic}" holds ${offset} events (${bytes} bytes), its quota is ` +
              `${item.quota.events} events and ${item.quota.bytes} bytes`,
          ),
        });
        continue;
      }
      if (item.perMinute !== undefined) {
        const counted = countInWindow(window, time, item.perMinute);
        if (counted.window === null) {
          outcomes.push({
            item,
            refused: new PublishError(
              "rate_limited",
              `"${topic}" already took ${item.perMinute} publishes this minute`,
              counted.retryAfterSeconds,
            ),
          });
          continue;
        }
        window = counted.window;
      }
      offset += 1;
      bytes += item.bytes;
      const event: TopicEvent = { topic, offset, epoch, time, data: item.data };
      operation.set(eventKey(topic, offset), event, { expireIn: policy.maxAgeMs });
      if (offset > policy.maxCount) operation.delete(eventKey(topic, offset - policy.maxCount));
      if (item.key) {
        assigned.set(item.key, event);
        operation.set(dedupeKey(topic, item.key), event, { expireIn: policy.maxAgeMs });
      }
      if (item.writes) {
        item.writes.write(operation, event);
        collect(item.writes);
      }
      outcomes.push({ item, event });
    }
    if (flight.deletes) operation.delete(markerKey(topic, flight.deletes));
    if (offset === startOffset) {
      // Nothing new (all repeats or refused): no head, no marker; nothing can pipeline on it.
      flight.marker = null;
      state.tip = { offset, epoch, window, bytes };
      return { outcomes, newHead: null, readHead };
    }
    if (flight.marker) {
      operation.set(markerKey(topic, flight.marker), true, { expireIn: MARKER_TTL_MS });
    }
    const newHead: StoredHead = { offset, epoch, time, bytes, ...(window ? { window } : {}) };
    operation.set(headKey(topic), newHead);
    state.tip = { offset, epoch, window, bytes };
    return { outcomes, newHead, readHead };
  }

  /** A commit of `batch` failed or threw: it and every later one of its topic start over. */
  #failed(batch: Batch): void {
    const { state, flight } = batch;
    flight.failed = true;
    state.failures += 1;
    if (batch.basis === "known") state.suspect = state.confirmed?.versionstamp ?? null;
    state.broken ??= [];
    state.broken.push(flight);
    this.#settled(batch);
  }

  /** Removes a finished flight; once a broken topic has none left, its failed items go back. */
  #settled(batch: Batch): void {
    const { state, flight } = batch;
    state.flights = state.flights.filter((other) => other !== flight);
    if (state.flights.length === 0) state.tip = null;
    if (state.broken && state.flights.length === 0) {
      const failed = state.broken.sort((a, b) => a.seq - b.seq).flatMap((f) => f.items);
      state.broken = null;
      state.queue.unshift(...failed);
      state.confirmed = null;
      state.confirmedMarker = null;
      if (state.failures > 2 && state.queue.length > 0) {
        // Lost several races with another writer: step aside a moment, with jitter.
        const wait = Math.random() * Math.min(50, state.failures * 2);
        setTimeout(() => {
          this.#consider(state);
          this.#pump();
        }, wait);
        return;
      }
    }
    this.#consider(state);
  }

  /**
   * The topic's head. Calls that arrive while a read of the same head is under
   * way share it (a reconnect storm costs one read per topic, not per client).
   */
  head(topic: string): Promise<Position | null> {
    let reading = this.#headReads.get(topic);
    if (!reading) {
      reading = this.#readHead(topic).finally(() => this.#headReads.delete(topic));
      this.#headReads.set(topic, reading);
    }
    return reading;
  }

  async #readHead(topic: string): Promise<Position | null> {
    const head = await this.#kv.get<StoredHead>(headKey(topic));
    const known: KnownHead = {
      offset: head.value?.offset ?? 0,
      epoch: head.value?.epoch ?? null,
      versionstamp: head.versionstamp,
      window: head.value?.window,
      bytes: head.value?.bytes,
    };
    this.learnHead(topic, known);
    this.#onHeadRead?.(topic, known);
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

function distinctKeys(items: Pending[]): string[] {
  return [...new Set(items.flatMap((item) => item.key ? [item.key] : []))];
}
