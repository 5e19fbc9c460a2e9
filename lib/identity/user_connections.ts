/**
 * Closing what a revocation covers: each isolate remembers its open realtime
 * connections by user, with the issue time of the token that opened each, and
 * closes the covered ones (code 4401) when a revocation is announced. The
 * announcement is an ephemeral message, so it reaches every isolate that is up
 * at that moment; a connection that misses it (it was opening just then) keeps
 * running, but it cannot reconnect: every connect reads the not-before in KV.
 */
import { z } from "zod";
import type { Broker } from "../realtime/mod.ts";
import { CLOSE_CODES, type Connection } from "../transport/mod.ts";
import type { Revocation } from "./revocation.ts";
import { issuedAt, type TokenClaims } from "./tokens.ts";

/** The ephemeral topic revocations are announced on (no client can read `identity:` topics). */
const REVOCATIONS_TOPIC = "identity:revocations";

const revocationSchema = z.object({
  userId: z.string().min(1).max(128),
  notBefore: z.number(),
});

/** The open realtime connections of one isolate, by user. */
export class UserConnections {
  #byUser = new Map<string, Map<Connection, number>>();

  /** Remembers `connection`, opened with a token with these claims, until it closes. */
  add(claims: TokenClaims, connection: Connection): void {
    if (connection.signal.aborted) return;
    let connections = this.#byUser.get(claims.sub);
    if (!connections) this.#byUser.set(claims.sub, connections = new Map());
    connections.set(connection, issuedAt(claims));
    connection.signal.addEventListener("abort", () => {
      connections.delete(connection);
      if (connections.size === 0 && this.#byUser.get(claims.sub) === connections) {
        this.#byUser.delete(claims.sub);
      }
    }, { once: true });
  }

  /**
   * Closes the user's connections opened with tokens issued before the
   * revocation: an error frame `token_revoked` first (the reason, also for SSE,
   * which has no close code), then close code 4401. Returns how many.
   */
  closeRevoked(revocation: Revocation): number {
    let closed = 0;
    for (const [connection, issued] of this.#byUser.get(revocation.userId) ?? []) {
      if (issued >= revocation.notBefore) continue;
      connection.send({
        type: "error",
        code: "token_revoked",
        message: "This user's tokens were revoked; sign in again",
      }, { event: "error" });
      connection.close(CLOSE_CODES.unauthorized, "token revoked");
      closed += 1;
    }
    return closed;
  }

  /** How many connections are remembered. */
  get size(): number {
    let size = 0;
    for (const connections of this.#byUser.values()) size += connections.size;
    return size;
  }
}

/** Tells every isolate about a revocation (best effort: see {@linkcode followRevocations}). */
export async function announceRevocation(broker: Broker, revocation: Revocation): Promise<void> {
  await broker.publishEphemeral(REVOCATIONS_TOPIC, revocation);
}

/** Options of {@linkcode followRevocations}. */
export interface FollowRevocationsOptions {
  /** Stops following. */
  signal: AbortSignal;
  /** Called after each announced revocation with how many connections it closed here. */
  onRevoked?: (revocation: Revocation, closed: number) => void;
}

/**
 * Closes this isolate's connections covered by each revocation announced from
 * now on (by any isolate), until the signal aborts.
 *
 * @example
 * ```ts
 * import { MemoryBroker } from "../realtime/mod.ts";
 * import { revokeTokens } from "./revocation.ts";
 *
 * const kv = await Deno.openKv(":memory:");
 * const broker = new MemoryBroker();
 * const connections = new UserConnections(); // each realtime route adds its connections
 * const shutdown = new AbortController();
 * void followRevocations(broker, connections, { signal: shutdown.signal });
 * await announceRevocation(broker, await revokeTokens(kv, "ada")); // ada's sockets close with 4401
 * ```
 */
export async function followRevocations(
  broker: Broker,
  connections: UserConnections,
  options: FollowRevocationsOptions,
): Promise<void> {
  const messages = broker.listenEphemeral<unknown>(REVOCATIONS_TOPIC, { signal: options.signal });
  for await (const message of messages) {
    const parsed = revocationSchema.safeParse(message.data);
    if (!parsed.success) continue;
    options.onRevoked?.(parsed.data, connections.closeRevoked(parsed.data));
  }
}
