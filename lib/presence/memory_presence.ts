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

/** Presence in memory for unit tests: one process, no expiry. */
export class MemoryPresence implements Presence {
  #broker: Broker;
  #scopes = new Map<
    string,
    Map<string, { userId: string; name: string; status: PresenceStatus; joinedAt: number }>
  >();

  constructor(broker: Broker) {
    this.#broker = broker;
  }

  async enter(scope: string, entry: PresenceEntry): Promise<PresenceHandle> {
    const connections = this.#scopes.get(scope) ?? new Map();
    this.#scopes.set(scope, connections);
    const first = ![...connections.values()].some((other) => other.userId === entry.userId);
    const stored = {
      userId: entry.userId,
      name: entry.name,
      status: entry.status ?? "online",
      joinedAt: Date.now(),
    };
    connections.set(entry.connectionId, stored);
    if (first) {
      await this.#broker.publish<PresenceEvent>(presenceTopic(scope), {
        type: "user_joined",
        userId: stored.userId,
        name: stored.name,
        status: stored.status,
      });
    }
    let left = false;
    const leave = async () => {
      if (left) return;
      left = true;
      connections.delete(entry.connectionId);
      if (![...connections.values()].some((other) => other.userId === entry.userId)) {
        await this.#broker.publish<PresenceEvent>(presenceTopic(scope), {
          type: "user_left",
          userId: entry.userId,
          name: entry.name,
        });
      }
    };
    return {
      setStatus: async (status) => {
        stored.status = status;
        const online = [...connections.values()].some((other) =>
          other.userId === entry.userId && other.status === "online"
        );
        await this.#broker.publish<PresenceEvent>(presenceTopic(scope), {
          type: "presence",
          userId: entry.userId,
          name: entry.name,
          status: online ? "online" : "away",
        });
      },
      leave,
      [Symbol.asyncDispose]: leave,
    };
  }

  list(scope: string): Promise<PresenceMember[]> {
    const connections = this.#scopes.get(scope) ?? new Map();
    return Promise.resolve(
      groupMembers([...connections].map(([connectionId, entry]) => ({ ...entry, connectionId }))),
    );
  }

  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}
