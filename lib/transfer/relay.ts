/**
 * The server side of one signaling connection: what a peer sends is published
 * to the other side's topic; what the other side sent (also while this peer was
 * away) is delivered from this side's topic, in order, with a cursor to resume
 * from; the other side's coming and going is told through presence.
 */
import type { Presence, PresenceEvent, PresenceHandle } from "../presence/mod.ts";
import { presenceTopic } from "../presence/mod.ts";
import { type Broker, type Position, PublishError, type TopicEvent } from "../realtime/mod.ts";
import { CLOSE_CODES, type Connection, deliverTopic } from "../transport/mod.ts";
import type { SessionKeeper } from "./keeper.ts";
import type { TransferRecord, TransferRole } from "./record.ts";
import {
  ALLOWED_FRAMES,
  inboundTopic,
  outboundTopic,
  peerRole,
  presenceScope,
  type SignalEvent,
  signalEventOf,
  type SignalingClientFrame,
  type SignalingServerFrame,
  toReceiverTopic,
  toSenderTopic,
} from "./signaling.ts";
import type { TransferStore } from "./store.ts";
import { TransferError } from "./errors.ts";
import { storageFullMessage, type StorageGate } from "../storage_budget/mod.ts";
import { utf8Bytes } from "../text/mod.ts";

/** What the relay needs from the isolate. */
export interface RelayDependencies {
  broker: Broker;
  presence: Presence;
  store: Pick<TransferStore, "close">;
  keeper: Pick<SessionKeeper, "connected" | "disconnected">;
  /**
   * What one side of a session may store (events and bytes of its JSON): a real
   * negotiation needs a few dozen messages; past it a frame gets `quota_exceeded`.
   */
  quota?: { events: number; bytes: number } | undefined;
  /** The signaling storage budget: past it a frame gets `storage_full`. */
  storage?: StorageGate | undefined;
  /** Identifies the isolate in `offer-stored` and `answer-stored` (diagnostics, benchmarks). */
  isolate: string;
  /** A frame was relayed to the other side. */
  onRelayed?(type: SignalEvent["type"]): void;
  /** A peer closed the session with `cancel`. */
  onClosed?(record: TransferRecord): void;
  onError?(error: unknown): void;
}

/** Who is on the other end of one connection. */
export interface RelaySession {
  record: TransferRecord;
  role: TransferRole;
  /** The token the peer connected with (a `cancel` closes the session with it). */
  token: string;
  /** Resume after this position of the inbound topic; default: from its beginning. */
  since: Position | null;
}

/** Handlers for `acceptWebSocket`. */
export interface RelayHandlers {
  onOpen(connection: Connection): Promise<void>;
  onFrame(connection: Connection, frame: SignalingClientFrame): Promise<void>;
  onClose(connection: Connection): Promise<void>;
}

/**
 * Tells both sides (every connection, on every isolate) that a session ended:
 * a `cancel` event on both topics. A connection closes itself with 4410 after
 * delivering it.
 */
export async function announceEnded(
  broker: Broker,
  record: TransferRecord,
  options: { reason: string; by: TransferRole | "server" },
): Promise<void> {
  const event: SignalEvent = { type: "cancel", reason: options.reason, by: options.by };
  const key = `ended:${record.id}`;
  await Promise.all([
    broker.publish(toReceiverTopic(record.id), event, { idempotencyKey: key }),
    broker.publish(toSenderTopic(record.id), event, { idempotencyKey: key }),
  ]);
}

/** The frame a stored signal becomes on delivery. */
export function signalFrame(event: TopicEvent<SignalEvent>, cursor: string): SignalingServerFrame {
  return { ...event.data, cursor };
}

/** Sends a frame of the signaling protocol (typed, so browsers can rely on the type). */
function send(connection: Connection, frame: SignalingServerFrame): void {
  connection.send(frame);
}

/**
 * Builds the handlers of one signaling connection.
 *
 * @example
 * ```ts
 * import { acceptWebSocket } from "../transport/mod.ts";
 * import type { TransferRecord } from "./record.ts";
 * import { signalingClientFrames } from "./signaling.ts";
 *
 * declare const deps: RelayDependencies; // the isolate's broker, presence, store and keeper
 * declare const record: TransferRecord; // the session the receiver's token opens
 * Deno.serve((request) => {
 *   const handlers = relayHandlers(deps, { record, role: "joiner", token: "tr_…", since: null });
 *   return acceptWebSocket(request, {
 *     label: "signaling",
 *     frames: signalingClientFrames,
 *     ...handlers,
 *   });
 * });
 * ```
 */
export function relayHandlers(deps: RelayDependencies, session: RelaySession): RelayHandlers {
  const { broker, presence } = deps;
  const { record, role } = session;
  const scope = presenceScope(record.id);
  const other = peerRole(role);
  let entering: Promise<PresenceHandle | null> | null = null;
  let ended = false;

  function report(error: unknown): void {
    deps.onError?.(error);
  }

  /** Tells this connection when the other side comes or goes (only on changes). */
  async function followPeer(connection: Connection): Promise<void> {
    const topic = presenceTopic(scope);
    const head = await broker.head(topic);
    let present: boolean | null = null;
    const update = (now: boolean) => {
      if (now === present) return;
      const before = present;
      present = now;
      if (now) send(connection, { type: "peer-joined", role: other });
      else if (before !== null) send(connection, { type: "peer-left", role: other });
    };
    const members = await presence.list(scope);
    update(members.some((member) => member.userId === other));
    const events = broker.subscribe<PresenceEvent>(topic, {
      since: head ?? { offset: 0, epoch: "" },
      signal: connection.signal,
    });
    for await (const item of events) {
      if (item.kind !== "event" || item.event.data.userId !== other) continue;
      if (item.event.data.type === "user_joined") update(true);
      if (item.event.data.type === "user_left") update(false);
    }
  }

  async function cancel(connection: Connection, reason: string | undefined): Promise<void> {
    try {
      const closed = await deps.store.close(record.id, session.token);
      if (closed.changed) deps.onClosed?.(closed.record);
    } catch (error) {
      if (!(error instanceof TransferError)) throw error;
      // Expired meanwhile: the other side hears it from the sweeper; still end this one.
    }
    ended = true;
    await announceEnded(broker, record, { reason: reason ?? `cancelled by the ${role}`, by: role });
    deps.onRelayed?.("cancel");
    connection.close(CLOSE_CODES.gone, "transfer closed");
  }

  return {
    onOpen(connection) {
      // What the other side stored goes out first; presence (who is here) follows on its own.
      entering = presence.enter(scope, {
        userId: role,
        name: role,
        connectionId: connection.id,
      }).catch((error) => {
        report(error);
        return null;
      });
      void deps.keeper.connected(record.id);
      void deliverTopic<SignalEvent>(broker, inboundTopic(record.id, role), connection, {
        since: session.since ?? { offset: 0, epoch: "" },
        toFrame: signalFrame,
        onDelivered: (event) => {
          if (event.data.type !== "cancel") return;
          ended = true;
          connection.close(CLOSE_CODES.gone, "transfer closed");
        },
      }).catch(report);
      void followPeer(connection).catch(report);
      return Promise.resolve();
    },

    async onFrame(connection, frame) {
      if (!ALLOWED_FRAMES[role].has(frame.type)) {
        send(connection, {
          type: "error",
          code: "not_allowed_for_role",
          message: `A ${role} cannot send "${frame.type}"`,
        });
        return;
      }
      if (ended) {
        send(connection, {
          type: "error",
          code: "session_closed",
          message: "This transfer session has ended",
        });
        return;
      }
      const event = signalEventOf(frame);
      if (!event) return await cancel(connection, frame.type === "cancel" ? frame.reason : "");
      const bytes = deps.storage ? utf8Bytes(JSON.stringify(event)) : 0;
      if (deps.storage) {
        if (!deps.storage.allows("signaling", bytes)) {
          send(connection, {
            type: "error",
            code: "storage_full",
            message: storageFullMessage("signaling"),
          });
          return;
        }
        // Counted before the commit (frames pile up while one commits); given back if refused.
        deps.storage.add("signaling", bytes);
      }
      // Not awaited: the broker queues publishes per topic in call order (and commits
      // those that pile up together), so the next frame need not wait for this commit.
      broker.publish(outboundTopic(record.id, role), event, { quota: deps.quota }).then((
        published,
      ) => {
        deps.onRelayed?.(event.type);
        if (event.type === "offer") {
          send(connection, {
            type: "offer-stored",
            code: record.code,
            offset: published.offset,
            isolate: deps.isolate,
          });
        } else if (event.type === "answer") {
          send(connection, {
            type: "answer-stored",
            offset: published.offset,
            isolate: deps.isolate,
          });
        }
      }, (error) => {
        deps.storage?.add("signaling", -bytes);
        if (error instanceof PublishError) {
          send(connection, { type: "error", code: error.code, message: error.message });
          return;
        }
        report(error);
        send(connection, {
          type: "error",
          code: "internal_error",
          message: "The server could not relay the frame",
        });
      });
    },

    async onClose() {
      const leaving = await entering;
      entering = null;
      await Promise.allSettled([
        leaving?.leave(),
        deps.keeper.disconnected(record.id),
      ]).then((results) => {
        for (const result of results) if (result.status === "rejected") report(result.reason);
      });
    },
  };
}
