import assert from "node:assert/strict";
import { fakeChannelPair } from "../_fake_channel.ts";
import { ChannelClosedError } from "../channel.ts";
import { confirmMessage, firstConfirmation } from "./confirm_channel.ts";

Deno.test("firstConfirmation() reads the first message's code and leaves later messages alone", async () => {
  const [sending, receiving] = fakeChannelPair();
  const first = firstConfirmation(receiving);
  const later: string[] = [];
  sending.send(confirmMessage("c".repeat(43)));
  assert.equal(await first, "c".repeat(43));
  // The protocol takes over the channel from here (the sender sends only after the answer).
  const next = new Promise((resolve) =>
    receiving.addEventListener("message", (event: MessageEvent) => resolve(later.push(event.data)))
  );
  sending.send('{"type":"manifest"}');
  await next;
  assert.deepEqual(later, ['{"type":"manifest"}']);
});

Deno.test("firstConfirmation() gives null for anything else first, and rejects when the channel closes", async () => {
  for (const message of ['{"type":"manifest"}', "not json", new Uint8Array([1, 2, 3])]) {
    const [sending, receiving] = fakeChannelPair();
    const first = firstConfirmation(receiving);
    sending.send(message);
    assert.equal(await first, null);
  }
  const [sending, receiving] = fakeChannelPair();
  const first = firstConfirmation(receiving);
  sending.close();
  await assert.rejects(first, ChannelClosedError);
});
