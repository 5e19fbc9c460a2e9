import assert from "node:assert/strict";
import { Switchboard } from "../lib/client/mod.ts";
import { request, startServer, TEST_API_KEY, waitFor } from "./harness.ts";
import { INTEGRATION, publishOk } from "./notifications_fixtures.ts";

async function token(server: { url: string }, userId: string): Promise<string> {
  const response = await request(`${server.url}/api/tokens`, {
    method: "POST",
    bearer: TEST_API_KEY,
    json: { userId, name: userId, perms: ["chat:read", "chat:write", "topics:read"] },
  });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.token;
}

function publishTopic(server: { url: string }, data: unknown) {
  return request(`${server.url}/api/topics/app:news/publish`, {
    method: "POST",
    bearer: TEST_API_KEY,
    json: { data },
  });
}

Deno.test({
  name: "Switchboard (the SDK) follows topics with resume, notifications with auto-ack, and chat " +
    "with a send queue, in Deno",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const ada = new Switchboard({ baseUrl: server.url, token: await token(server, "ada") });
    const bob = new Switchboard({
      baseUrl: server.url,
      token: () => token(server, "bob"),
      minDelayMs: 50,
    });

    // Topics: history from `since`, live ones, and a reconnect that resumes without repeats.
    await publishTopic(server, { n: 1 });
    const events: number[] = [];
    const news = bob.topic<{ n: number }>("app:news", (event) => events.push(event.data.n), {
      since: "all",
    });
    await waitFor(() => events.length === 1);
    await publishTopic(server, { n: 2 });
    await waitFor(() => events.length === 2);
    news.reconnectNow();
    await publishTopic(server, { n: 3 });
    await waitFor(() => events.length === 3);
    assert.deepEqual(events, [1, 2, 3]);
    news.close();

    // Notifications: one call each, the requiresAck one acked by the client itself.
    const received: string[] = [];
    let ready = false;
    const feed = ada.notifications((notification) => received.push(notification.message), {
      onControl: (frame) => {
        if (frame.type === "notification.ready") ready = true;
      },
    });
    await waitFor(() => ready);
    const [id] = await publishOk(server, {
      userId: "ada",
      type: "file_uploaded",
      data: { fileName: "a.pdf", size: 2_516_582 },
      requiresAck: true,
    });
    await waitFor(() => received.length === 1);
    assert.deepEqual(received, ["✅ 'a.pdf' has been uploaded successfully (2.4 MB)"]);
    await waitFor(async () => {
      const log = await request(`${server.url}/api/notifications/log?userId=ada`, {
        bearer: TEST_API_KEY,
      });
      return log.body.entries.find((entry: { id: string }) => entry.id === id)?.acknowledged;
    }, { message: "the SDK acked the requiresAck notification" });
    feed.close();

    // Chat: what Ada says before her socket is open is queued and sent once it is.
    const heard: string[] = [];
    const bobInLobby = bob.chat("lobby", (frame) => {
      const message = frame.message as { content?: string } | undefined;
      if (frame.type === "message" && message?.content) heard.push(message.content);
    });
    await waitFor(() => bobInLobby.client.status === "open");
    const adaInLobby = ada.chat("lobby", () => {});
    adaInLobby.say("hello from the queue");
    assert.equal(adaInLobby.client.queued, 1);
    await waitFor(() => heard.includes("hello from the queue"));
    adaInLobby.close();
    bobInLobby.close();
  },
});
