import assert from "node:assert/strict";
import { NOTIFICATION_EXAMPLES } from "./examples.ts";
import { formatSize, notificationMessage } from "./message_text.ts";
import { NOTIFICATION_TYPES } from "./types.ts";

Deno.test("every built-in type renders a sentence of its own from its example", () => {
  const seen = new Set<string>();
  for (const type of Object.keys(NOTIFICATION_TYPES)) {
    const message = notificationMessage(type, NOTIFICATION_EXAMPLES[type]!);
    assert.ok(message.length > 5 && message !== type, `${type}: "${message}"`);
    assert.ok(!seen.has(message), `${type} repeats "${message}"`);
    seen.add(message);
  }
  assert.equal(
    notificationMessage("group.member.joined", NOTIFICATION_EXAMPLES["group.member.joined"]!),
    "Linus joined Design team",
  );
  assert.equal(
    notificationMessage("group.join_request.rejected", {
      groupName: "Design team",
      reason: "Full",
    }),
    "Your request to join Design team was declined: Full",
  );
  assert.equal(
    notificationMessage("shards_generated", { shardCount: 1 }),
    "🎉 1 new shard generated!",
  );
  // Types added by configuration: their own message, else their title, else the type.
  assert.equal(notificationMessage("deploy.done", { message: "v2 is live" }), "v2 is live");
  assert.equal(notificationMessage("deploy.done", {}), "deploy.done");
});

Deno.test("formatSize() shows B, KB, MB and GB with one decimal", () => {
  assert.equal(formatSize(12), "12 B");
  assert.equal(formatSize(482_133), "470.8 KB");
  assert.equal(formatSize(2_516_582), "2.4 MB");
  assert.equal(formatSize(5 * 1024 ** 3), "5.0 GB");
  assert.equal(formatSize(Number.NaN), "0 B");
});
