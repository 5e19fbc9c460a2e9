/**
 * Soak and restart under load: transfers, notifications and chat at once over
 * two isolates, with clients dropping and resuming at random (through the client
 * SDK every island uses). Afterwards every stored count matches what clients saw,
 * and no connection, feed or watch is left behind.
 */
import assert from "node:assert/strict";
import { RealtimeClient, type ServerFrame } from "../lib/client/mod.ts";
import { request, startServer, TEST_API_KEY, type TestServer, waitFor } from "./harness.ts";
import { openSocket } from "./ws_client.ts";
import { seededRandom, testSeed, withSeed } from "./seeded_random.ts";

const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };
/** How long the soak runs: its duration is what it tests. */
const SOAK_MS = 10_000;
/** A new seed each run (more schedules tried over time) unless TEST_SEED replays one. */
const SEED = testSeed();

async function mint(server: TestServer, userId: string): Promise<string> {
  const response = await request(`${server.url}/api/tokens`, {
    method: "POST",
    bearer: TEST_API_KEY,
    json: { userId, name: userId },
  });
  assert.equal(response.status, 201);
  return response.body.token;
}

/** A chat participant on the SDK: what it saw and which of its own messages came back. */
interface ChatParticipant {
  userId: string;
  client: RealtimeClient;
  seen: string[];
  echoed: Set<string>;
  sent: number;
}

function chatParticipant(server: () => TestServer, channel: string, userId: string, token: string) {
  const participant: ChatParticipant = {
    userId,
    seen: [],
    echoed: new Set(),
    sent: 0,
    client: null!,
  };
  participant.client = new RealtimeClient({
    token: () => token,
    minDelayMs: 20,
    maxDelayMs: 300,
    url: (cursor) =>
      `${server().wsUrl}/api/ws/channels/${channel}${cursor ? `?since=${cursor}` : ""}`,
    onFrame: (frame: ServerFrame) => {
      if (frame.type === "initial_state" && !frame.resumed) {
        for (const message of frame.messages as Array<{ id: string }>) {
          participant.seen.push(message.id);
        }
      }
      if (frame.type !== "message") return;
      const message = frame.message as {
        id: string;
        userId: string;
        clientMessageId: string | null;
      };
      if (frame.cursor) participant.seen.push(message.id);
      if (message.userId === userId && message.clientMessageId) {
        participant.echoed.add(message.clientMessageId);
      }
    },
  });
  participant.client.start();
  return participant;
}

/** A notification connection on the SDK: the ids it received. */
function notificationConnection(
  server: () => TestServer,
  userId: string,
  token: string,
  transport: "websocket" | "sse",
) {
  const ids: string[] = [];
  const state = { ready: false };
  const client = new RealtimeClient({
    transport,
    minDelayMs: 20,
    maxDelayMs: 300,
    sseEvents: ["message", "notification.ready"],
    frameId: (frame) => typeof frame.id === "string" ? frame.id : undefined,
    token: transport === "websocket" ? () => token : async () => {
      const minted = await request(`${server().url}/api/notifications/stream-token`, {
        method: "POST",
        bearer: token,
      });
      return minted.body.token;
    },
    url: (cursor) => {
      const path = transport === "websocket"
        ? `${server().wsUrl}/api/ws/notifications`
        : `${server().url}/api/notifications/stream`;
      return `${path}${cursor ? `?since=${cursor}` : ""}`;
    },
    onFrame: (frame) => {
      if (frame.type === "notification.ready") state.ready = true;
      if (frame.type === "success" && typeof frame.id === "string") ids.push(frame.id);
    },
  });
  client.start();
  return { userId, client, ids, state };
}

async function metricSum(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (-?\\d+)`, "gm"))]
    .reduce((sum, match) => sum + Number(match[1]), 0);
}

async function chatHistory(server: TestServer, channel: string, token: string): Promise<string[]> {
  const ids: string[] = [];
  let before: string | null = null;
  do {
    const page = await request(
      `${server.url}/api/channels/${channel}/messages?limit=100${
        before ? `&before=${before}` : ""
      }`,
      { bearer: token },
    );
    assert.equal(page.status, 200, JSON.stringify(page.body));
    ids.unshift(...page.body.messages.map((message: { id: string }) => message.id));
    before = page.body.nextBefore;
  } while (before);
  return ids;
}

Deno.test({
  name:
    "soak: transfers, notifications and chat over 2 isolates with random disconnects; counts match and nothing leaks",
  ...INTEGRATION,
  // The disconnects and pauses are random: from SEED, printed when the test fails.
  fn: () =>
    withSeed(SEED, async (random) => {
      await using server = await startServer({
        isolates: 2,
        env: {
          CONNECTION_MESSAGES_PER_SECOND: "1000",
          REQUESTS_PER_MINUTE: "1000000",
          // A candidate every 20 ms for the whole soak: more than a real negotiation stores.
          TRANSFER_MAX_SIGNALS: "100000",
        },
      });
      const current = () => server;
      // Chat: five participants in one channel.
      const participants = await Promise.all(
        ["ana", "ben", "cai", "dee", "eli"].map(async (userId) =>
          chatParticipant(current, "soak", userId, await mint(server, userId))
        ),
      );
      // Notifications: three users, a WebSocket and an SSE connection each.
      const users = ["n1", "n2", "n3"];
      const userTokens = Object.fromEntries(
        await Promise.all(users.map(async (userId) => [userId, await mint(server, userId)])),
      );
      const connections = users.flatMap((userId) => [
        notificationConnection(current, userId, userTokens[userId], "websocket"),
        notificationConnection(current, userId, userTokens[userId], "sse"),
      ]);
      // A connection without a cursor starts at "now": publish once every stream is live.
      await waitFor(() => connections.every((connection) => connection.state.ready));
      const published: Record<string, string[]> = Object.fromEntries(
        users.map((userId) => [userId, []]),
      );
      // Transfers: three sessions; the creator drops and resumes while sending candidates.
      // Transfers: three sessions; the sender stays while the receiver drops and resumes.
      const sessions = await Promise.all([0, 1, 2].map(async () => {
        const created =
          (await request(`${server.url}/api/transfer/create`, { method: "POST", json: {} })).body;
        const joined = (await request(`${server.url}/api/transfer/join`, {
          method: "POST",
          json: { code: created.code },
        })).body;
        const creator = await openSocket(
          `${server.wsUrl}/api/ws/file-share-session?code=${created.code}&role=creator&token=${created.senderToken}`,
        );
        const joinerUrl = (cursor: string | null) =>
          `${server.wsUrl}/api/ws/file-share-session?code=${created.code}&role=joiner&token=${joined.receiverToken}${
            cursor ? `&since=${cursor}` : ""
          }`;
        return {
          creator,
          joinerUrl,
          sent: [] as string[],
          received: [] as string[],
          cursor: null as string | null,
        };
      }));
      /** Reads a closed joiner socket's frames into the session. */
      const absorb = (
        session: (typeof sessions)[number],
        frames: Array<Record<string, unknown>>,
      ) => {
        for (const frame of frames) {
          if (frame.type === "ice-candidate") {
            session.received.push((frame.candidate as { candidate: string }).candidate);
          }
          if (typeof frame.cursor === "string") session.cursor = frame.cursor;
        }
      };

      // Each loop draws from its own stream of the seed, whatever the interleaving. The
      // pauses below pace the load for SOAK_MS: they are the scenario, not waits.
      const deadline = Date.now() + SOAK_MS;
      const chaos = (async () => {
        while (Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100 + random() * 200));
          const pool = [...participants.map((p) => p.client), ...connections.map((c) => c.client)];
          pool[Math.floor(random() * pool.length)]!.reconnectNow();
        }
      })();
      const talkers = participants.map(async (participant, index) => {
        const pause = seededRandom(SEED + 10 + index);
        while (Date.now() < deadline) {
          participant.sent += 1;
          participant.client.send({
            type: "message",
            content: `hi ${participant.sent}`,
            clientMessageId: `${participant.userId}-${participant.sent}`,
          });
          await new Promise((resolve) => setTimeout(resolve, 120 + pause() * 120));
        }
      });
      const publisher = (async () => {
        let index = 0;
        while (Date.now() < deadline) {
          const userId = users[index % users.length]!;
          const response = await request(`${server.url}/api/notifications/publish`, {
            method: "POST",
            bearer: TEST_API_KEY,
            json: { userId, type: "success", data: { message: `n${index}` }, id: `soak-${index}` },
          });
          assert.equal(response.status, 202, JSON.stringify(response.body));
          published[userId]!.push(...response.body.ids);
          index += 1;
          await new Promise((resolve) => setTimeout(resolve, 40));
        }
      })();
      const signaling = sessions.map(async (session, index) => {
        const away = seededRandom(SEED + 20 + index);
        const receiver = (async () => {
          while (Date.now() < deadline) {
            const joiner = await openSocket(session.joinerUrl(session.cursor));
            await new Promise((resolve) => setTimeout(resolve, 100 + away() * 150));
            await joiner.close();
            absorb(session, joiner.frames);
          }
        })();
        for (let index = 0; Date.now() < deadline; index++) {
          const candidate = `candidate:${index} 1 udp 2122260223 127.0.0.1 ${
            10000 + index
          } typ host`;
          session.creator.send({
            type: "ice-candidate",
            candidate: { candidate, sdpMid: "0", sdpMLineIndex: 0 },
          });
          session.sent.push(candidate);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await receiver;
      });
      await Promise.all([chaos, ...talkers, publisher, ...signaling]);

      // Chat: every participant saw exactly the stored log, once, in order.
      const reader = await mint(server, "reader");
      await waitFor(async () => {
        const stored = await chatHistory(server, "soak", reader);
        return participants.every((participant) => participant.seen.length >= stored.length) &&
          stored.length > 0;
      }, { timeoutMs: 30_000, message: "chat clients caught up" });
      const stored = await chatHistory(server, "soak", reader);
      const storedClientIds = stored.length;
      for (const participant of participants) {
        assert.deepEqual(participant.seen, stored, `${participant.userId} saw exactly the log`);
        assert.ok(participant.echoed.size <= participant.sent);
      }
      const echoedTotal = participants.reduce(
        (sum, participant) => sum + participant.echoed.size,
        0,
      );
      assert.equal(
        storedClientIds,
        echoedTotal,
        "every stored message was confirmed to its sender, and only those",
      );

      // Notifications: each connection has exactly its user's notifications.
      await waitFor(
        () =>
          connections.every((connection) =>
            connection.ids.length >= published[connection.userId]!.length
          ),
        {
          timeoutMs: 30_000,
          message: "notification connections caught up",
        },
      );
      for (const connection of connections) {
        assert.deepEqual(
          [...connection.ids].sort(),
          [...published[connection.userId]!].sort(),
          connection.userId,
        );
        assert.equal(new Set(connection.ids).size, connection.ids.length, "no duplicates");
      }

      // Transfers: across all its resumed sockets, each receiver got every candidate once, in order.
      for (const session of sessions) {
        const last = await openSocket(session.joinerUrl(session.cursor));
        const missing = session.sent.length - session.received.length;
        if (missing > 0) {
          await last.collect((frame) => frame.type === "ice-candidate", missing, 30_000);
        }
        await last.close();
        absorb(session, last.frames);
        assert.deepEqual(session.received, session.sent);
        await session.creator.close();
      }

      for (const participant of participants) participant.client.close();
      for (const connection of connections) connection.client.close();
      await waitFor(async () =>
        await metricSum(server, "switchboard_connections_open") === 0 &&
        await metricSum(server, "switchboard_topic_feeds") === 0 &&
        await metricSum(server, "switchboard_topic_watches") === 0, {
        timeoutMs: 15_000,
        message: "connections, feeds and watches back to zero",
      });
    }),
});

Deno.test({
  name:
    "restart under load: the server is killed and restarted; every client resumes and nothing acknowledged is lost",
  ...INTEGRATION,
  async fn() {
    let server = await startServer({ env: { CONNECTION_MESSAGES_PER_SECOND: "1000" } });
    const current = () => server;
    try {
      const participants = await Promise.all(
        ["ana", "ben", "cai"].map(async (userId) =>
          chatParticipant(current, "restart", userId, await mint(server, userId))
        ),
      );
      const token = await mint(server, "n1");
      const connections = [
        notificationConnection(current, "n1", token, "websocket"),
        notificationConnection(current, "n1", token, "sse"),
      ];
      await waitFor(() => connections.every((connection) => connection.state.ready));
      // A set: an answer cut off by the kill makes the publisher retry an id already stored.
      const accepted = new Set<string>();
      let running = true;
      const publisher = (async () => {
        for (let index = 0; running; index++) {
          // Retry until accepted: the id makes a retry after a lost answer safe.
          while (true) {
            try {
              const response = await request(`${server.url}/api/notifications/publish`, {
                method: "POST",
                bearer: TEST_API_KEY,
                json: {
                  userId: "n1",
                  type: "success",
                  data: { message: `m${index}` },
                  id: `r-${index}`,
                },
              });
              if (response.status === 202) {
                for (const id of response.body.ids) accepted.add(id);
                break;
              }
            } catch { /* restarting */ }
            // The retry interval while the server restarts (it is not there to wait on).
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          // The pace of the load (the scenario), not a wait.
          await new Promise((resolve) => setTimeout(resolve, 30));
        }
      })();
      const talkers = participants.map(async (participant) => {
        while (running) {
          participant.sent += 1;
          participant.client.send({
            type: "message",
            content: "x",
            clientMessageId: `${participant.userId}-${participant.sent}`,
          });
          // The pace of the load (the scenario), not a wait.
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      });
      /** Resolves once `notifications` more were accepted and every participant got `echoes` more back. */
      const progress = (notifications: number, echoes: number) => {
        const accepted0 = accepted.size;
        const echoed0 = participants.map((participant) => participant.echoed.size);
        return waitFor(
          () =>
            accepted.size >= accepted0 + notifications &&
            participants.every((participant, index) =>
              participant.echoed.size >= echoed0[index]! + echoes
            ),
          { timeoutMs: 30_000, message: `${notifications} notifications, ${echoes} echoes each` },
        );
      };
      await progress(20, 5); // under load
      const echoedBeforeKill = participants.map((participant) => new Set(participant.echoed));
      server = await server.restart({ kill: true });
      await progress(20, 5); // under load again, after the restart
      running = false;
      await Promise.all([publisher, ...talkers]);

      const reader = await mint(server, "reader");
      await waitFor(async () => {
        const stored = await chatHistory(server, "restart", reader);
        return participants.every((participant) => participant.seen.length >= stored.length);
      }, { timeoutMs: 30_000, message: "chat clients resumed and caught up" });
      const stored = await chatHistory(server, "restart", reader);
      participants.forEach((participant, index) => {
        assert.deepEqual(
          participant.seen,
          stored,
          `${participant.userId} resumed without gap or duplicate`,
        );
        for (const clientMessageId of echoedBeforeKill[index]!) {
          assert.ok(
            participant.echoed.has(clientMessageId),
            `acknowledged ${clientMessageId} kept`,
          );
        }
      });
      assert.ok(stored.length > 0);
      await waitFor(
        () => connections.every((connection) => new Set(connection.ids).size >= accepted.size),
        {
          timeoutMs: 30_000,
          message: `notifications resumed: ${
            connections.map((c) => c.ids.length)
          } of ${accepted.size}`,
        },
      );
      for (const connection of connections) {
        assert.deepEqual([...new Set(connection.ids)].sort(), [...accepted].sort());
        assert.equal(new Set(connection.ids).size, connection.ids.length, "no duplicates");
      }
      for (const participant of participants) participant.client.close();
      for (const connection of connections) connection.client.close();
    } finally {
      await server.stop();
    }
  },
});
