/** A member's own status. */
export type PresenceStatus = "online" | "away";

/** One user present in a scope, over all their connections. */
export interface PresenceMember {
  userId: string;
  name: string;
  status: PresenceStatus;
  connections: number;
  /** The ids of those connections. */
  connectionIds: string[];
  /** When the earliest of those connections entered (ms since the epoch). */
  joinedAt: number;
}

/** Published on topic `presence:<scope>` whenever the online set changes. */
export type PresenceEvent =
  | { type: "user_joined"; userId: string; name: string; status: PresenceStatus }
  | { type: "user_left"; userId: string; name: string }
  | { type: "presence"; userId: string; name: string; status: PresenceStatus };

/** Who enters a scope: one connection of one user. */
export interface PresenceEntry {
  userId: string;
  name: string;
  connectionId: string;
  status?: PresenceStatus;
}

/** One connection's presence; leaving is disposal. */
export interface PresenceHandle extends AsyncDisposable {
  setStatus(status: PresenceStatus): Promise<void>;
  leave(): Promise<void>;
}

/** Who is online where. Join and leave are published as {@linkcode PresenceEvent}s. */
export interface Presence extends AsyncDisposable {
  /** Marks a connection present; the first connection of a user publishes `user_joined`. */
  enter(scope: string, entry: PresenceEntry): Promise<PresenceHandle>;
  /** Users present now (entries past their expiry are ignored even if KV still holds them). */
  list(scope: string): Promise<PresenceMember[]>;
}

/** The topic presence events of a scope are published on. */
export function presenceTopic(scope: string): string {
  return `presence:${scope}`;
}

/** Folds connection entries into one member per user (online wins over away). */
export function groupMembers(
  entries: Iterable<
    {
      userId: string;
      name: string;
      status: PresenceStatus;
      connectionId: string;
      /** Absent in entries written before it existed: counted as now. */
      joinedAt?: number | undefined;
    }
  >,
  now: number = Date.now(),
): PresenceMember[] {
  const members = new Map<string, PresenceMember>();
  for (const { connectionId, userId, name, status, joinedAt } of entries) {
    const member = members.get(userId);
    if (!member) {
      members.set(userId, {
        userId,
        name,
        status,
        connections: 1,
        connectionIds: [connectionId],
        joinedAt: joinedAt ?? now,
      });
      continue;
    }
    member.connections += 1;
    member.connectionIds.push(connectionId);
    member.joinedAt = Math.min(member.joinedAt, joinedAt ?? now);
    if (status === "online") member.status = "online";
  }
  return [...members.values()].sort((a, b) => a.name.localeCompare(b.name));
}
