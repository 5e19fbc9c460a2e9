/**
 * The design documents' own notification examples (../shared/seeds/: the SSE design's
 * `notifyShardGeneration` & co. and their texts, the WebSocket design's group payloads and
 * toasts), published as written and delivered with the `message` text a client shows.
 */
import assert from "node:assert/strict";
import { EventSource } from "eventsource";
import { request, startServer, TEST_API_KEY } from "./harness.ts";
import {
  INTEGRATION,
  openNotificationSocket,
  publishOk,
  streamToken,
  userToken,
} from "./notifications_fixtures.ts";

const SEED_EXAMPLES: {
  type: string;
  data: Record<string, unknown>;
  requiresAck?: boolean;
  message: string;
}[] = [
  {
    type: "shards_generated",
    data: { campaignName: "Campaign Name", fileName: "file.pdf", shardCount: 24 },
    message:
      '🎉 24 new shards generated from "file.pdf"! Check your "Campaign Name" campaign to review them.',
  },
  {
    type: "file_uploaded",
    data: { fileName: "a.pdf", size: 2_516_582 },
    message: "✅ 'a.pdf' has been uploaded successfully (2.4 MB)",
  },
  {
    type: "campaign_created",
    data: { name: "Campaign Name" },
    message: "🎯 Your campaign 'Campaign Name' has been created successfully!",
  },
  { type: "success", data: { message: "Export finished" }, message: "Export finished" },
  { type: "error", data: { message: "Export failed" }, message: "Export failed" },
  {
    // The WebSocket design's publishNotification example (no invitedBy) and its toast.
    type: "group.invitation.received",
    requiresAck: true,
    data: { invitationId: "inv_1", groupId: "g_1", groupName: "Design team" },
    message: "You've been invited to Design team!",
  },
  {
    type: "group.admin.granted",
    data: { groupId: "g_1", groupName: "Design team" },
    message: "You're now an admin of Design team",
  },
];

Deno.test({
  name: "each example payload of the design documents is delivered with its message text",
  ...INTEGRATION,
  async fn() {
    await using server = await startServer();
    const token = await userToken(server, "ada");
    await using socket = (await openNotificationSocket(server, token)).socket;
    const source = new EventSource(
      `${server.url}/api/notifications/stream?token=${await streamToken(server, token)}`,
    );
    const sse: Record<string, unknown>[] = [];
    let sseChanged = () => {};
    // Unnamed by default (the `message` event); with `?events=named` each is named after its
    // type (`notification.error` for error): listen for both.
    for (const name of [...SEED_EXAMPLES.map((e) => e.type), "notification.error", "message"]) {
      source.addEventListener(name, (event) => {
        const frame = JSON.parse(event.data);
        if (typeof frame.id === "string") sse.push(frame);
        sseChanged();
      });
    }
    try {
      await new Promise<void>((resolve, reject) => {
        source.onopen = () => resolve();
        source.onerror = () => reject(new Error("stream failed"));
      });
      for (const example of SEED_EXAMPLES) {
        const [id] = await publishOk(server, {
          userId: "ada",
          type: example.type,
          data: example.data,
          ...(example.requiresAck ? { requiresAck: true } : {}),
        });
        const frame = await socket.next((frame) => frame.id === id);
        assert.equal(frame.message, example.message, example.type);
        assert.deepEqual(frame.data, example.data);
      }
      await new Promise<void>((resolve) => {
        sseChanged = () => sse.length >= SEED_EXAMPLES.length && resolve();
        sseChanged();
      });
      assert.deepEqual(sse.map((frame) => frame.message), SEED_EXAMPLES.map((e) => e.message));
    } finally {
      source.close();
    }

    // The same text in history and in the audit log (which carries the payload too).
    const history = await request(`${server.url}/api/notifications?limit=20`, { bearer: token });
    assert.deepEqual(
      history.body.notifications.map((item: { message: string }) => item.message).reverse(),
      SEED_EXAMPLES.map((e) => e.message),
    );
    const log = await request(`${server.url}/api/notifications/log?userId=ada`, {
      bearer: TEST_API_KEY,
    });
    const newest = log.body.entries[0];
    assert.equal(newest.type, "group.admin.granted");
    assert.deepEqual(newest.data, { groupId: "g_1", groupName: "Design team" });
    assert.equal(newest.message, "You're now an admin of Design team");
  },
});
