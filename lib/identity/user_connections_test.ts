import assert from "node:assert/strict";
import { MemoryBroker } from "../realtime/mod.ts";
import type { Connection } from "../transport/mod.ts";
import { announceRevocation, followRevocations, type TokenClaims, UserConnections } from "./mod.ts";

/** A connection that records what it was sent and how it was closed. */
function fakeConnection() {
  const controller = new AbortController();
  const sent: unknown[] = [];
  const closes: number[] = [];
  const connection: Connection = {
    id: crypto.randomUUID(),
    kind: "websocket",
    signal: controller.signal,
    slowConsumerMs: 10_000,
    congested: false,
    settled: Promise.resolve(),
    drained: () => Promise.resolve(),
    send(frame) {
      sent.push(frame);
      return !controller.signal.aborted;
    },
    close(code) {
      closes.push(code ?? 1000);
      controller.abort();
    },
  };
  return { connection, sent, closes };
}

function claims(sub: string, iatMs: number): TokenClaims {
  const iat = Math.floor(iatMs / 1000);
  return { sub, name: sub, perms: [], kind: "user", iat, iatMs, exp: iat + 3600 };
}

Deno.test("an announced revocation closes the user's older connections with 4401, no others", async () => {
  await using broker = new MemoryBroker();
  const connections = new UserConnections();
  const controller = new AbortController();
  const revoked = Promise.withResolvers<number>();
  const following = followRevocations(broker, connections, {
    signal: controller.signal,
    onRevoked: (_revocation, closed) => revoked.resolve(closed),
  });
  const older = fakeConnection();
  const newer = fakeConnection();
  const other = fakeConnection();
  connections.add(claims("ada", 1_000), older.connection);
  connections.add(claims("ada", 3_000), newer.connection);
  connections.add(claims("bob", 1_000), other.connection);
  assert.equal(connections.size, 3);

  await announceRevocation(broker, { userId: "ada", notBefore: 2_000 });
  assert.equal(await revoked.promise, 1);
  assert.deepEqual(older.closes, [4401]);
  assert.deepEqual(older.sent, [{
    type: "error",
    code: "token_revoked",
    message: "This user's tokens were revoked; sign in again",
  }]);
  assert.deepEqual([newer.closes, other.closes], [[], []]);
  assert.equal(connections.size, 2, "a closed connection is forgotten");
  controller.abort();
  await following;
});
