import assert from "node:assert/strict";
import { KvBroker, type TopicEvent } from "../realtime/mod.ts";
import { NotificationCenter } from "./center.ts";
import { NotificationError } from "./errors.ts";
import { frameForPayload, type UserTopicPayload } from "./frames.ts";
import {
  notifyCampaignCreated,
  notifyError,
  notifyFileUploaded,
  notifyGroupInvitation,
  notifyShardsGenerated,
  notifySuccess,
  notifyUser,
  notifyUsers,
} from "./helpers.ts";

async function withCenter(
  fn: (center: NotificationCenter, broker: KvBroker) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const broker = new KvBroker(kv, { channelName: `helpers-${crypto.randomUUID()}` });
  try {
    await using center = new NotificationCenter({ kv, broker, config: {} }, { sweep: false });
    await fn(center, broker);
  } finally {
    await broker[Symbol.asyncDispose]();
    kv.close();
  }
}

/** The frames the user's connections get, in order. */
async function framesOf(broker: KvBroker, userId: string) {
  const events: TopicEvent<UserTopicPayload>[] = await broker.history(`user:${userId}`);
  return events.map((event) => frameForPayload(event.data)).filter((frame) => frame !== null);
}

Deno.test("the typed notify helpers publish their type with the design documents' texts", async () => {
  await withCenter(async (center, broker) => {
    await notifyShardsGenerated(center, "ada", {
      campaignName: "Campaign Name",
      fileName: "file.pdf",
      shardCount: 24,
    });
    await notifyFileUploaded(center, "ada", { fileName: "a.pdf", size: 2_516_582 });
    await notifyCampaignCreated(center, "ada", { name: "Campaign Name" });
    await notifyGroupInvitation(center, "ada", {
      groupId: "g1",
      groupName: "Design team",
      invitationId: "inv_1",
    }, { requiresAck: true });
    await notifySuccess(center, "ada", "Your export is ready", { link: "/d/abc", title: "Export" });
    await notifyError(center, "ada", "The card was declined", { code: "card_declined" });
    const frames = await framesOf(broker, "ada");
    assert.deepEqual(frames.map((frame) => [frame.type, "message" in frame && frame.message]), [
      [
        "shards_generated",
        '🎉 24 new shards generated from "file.pdf"! Check your "Campaign Name" campaign to review them.',
      ],
      ["file_uploaded", "✅ 'a.pdf' has been uploaded successfully (2.4 MB)"],
      ["campaign_created", "🎯 Your campaign 'Campaign Name' has been created successfully!"],
      ["group.invitation.received", "You've been invited to Design team!"],
      ["success", "Your export is ready"],
      ["error", "The card was declined"],
    ]);
    const invitation = frames[3]!;
    assert.equal("requiresAck" in invitation && invitation.requiresAck, true);
    const success = frames[4]!;
    assert.deepEqual("data" in success && success.data, {
      message: "Your export is ready",
      link: "/d/abc",
      title: "Export",
    });
    const error = frames[5]!;
    assert.deepEqual("data" in error && error.data, {
      message: "The card was declined",
      code: "card_declined",
    });
  });
});

Deno.test("notifyUser() is idempotent by id; notifyUsers() sends one per distinct user", async () => {
  await withCenter(async (center, broker) => {
    const first = await notifyUser(center, "ada", "success", { message: "once" }, { id: "job-1" });
    const again = await notifyUser(center, "ada", "success", { message: "once" }, { id: "job-1" });
    assert.equal(first.id, "job-1");
    assert.equal(first.duplicate, false);
    assert.equal(again.duplicate, true);
    assert.equal((await framesOf(broker, "ada")).length, 1);

    const outcomes = await notifyUsers(center, ["bob", "cy", "bob"], "campaign_created", {
      campaignId: "c1",
      name: "Spring",
    });
    assert.deepEqual(outcomes.map((outcome) => outcome.userId), ["bob", "cy"]);
    assert.equal(outcomes[0]!.id, outcomes[1]!.id, "one publish, one id for its recipients");
    for (const user of ["bob", "cy"]) {
      const [frame] = await framesOf(broker, user);
      assert.equal(
        frame && "message" in frame && frame.message,
        "🎯 Your campaign 'Spring' has been created successfully!",
      );
    }
  });
});

Deno.test("the notify helpers throw NotificationError for bad data or an unknown type", async () => {
  await withCenter(async (center) => {
    await assert.rejects(
      notifyUser(center, "ada", "party.started", {}),
      (error) => error instanceof NotificationError && error.code === "unknown_type",
    );
    await assert.rejects(
      notifyFileUploaded(center, "ada", { fileName: "a.pdf", size: -1 }),
      (error) => error instanceof NotificationError && error.code === "invalid_data",
    );
    await assert.rejects(
      notifySuccess(center, "ada", "hi", { link: "javascript:alert(1)" }),
      (error) => error instanceof NotificationError && error.code === "invalid_data",
    );
    await assert.rejects(
      notifyUser(center, "not a user", "success", { message: "x" }),
      (error) => error instanceof NotificationError && error.code === "invalid_user",
    );
  });
});
