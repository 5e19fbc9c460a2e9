import assert from "node:assert/strict";
import type { Connection } from "./connection.ts";
import { openSse } from "./sse.ts";

Deno.test("openSse() writes eventId(cursor) as the id and renews it on a quiet stream's heartbeat", async () => {
  let signed = 0;
  let connection: Connection | undefined;
  const response = openSse({
    label: "test",
    heartbeatMs: 5,
    eventIdRefreshMs: 0,
    eventId: (cursor) => `${cursor}.sig${++signed}`,
    onOpen: (opened) => {
      connection = opened;
    },
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const until = async (pattern: RegExp) => {
    while (!pattern.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended; got ${text}`);
      text += value;
    }
  };
  await until(/: connected/);
  connection!.send({ type: "x" }, { id: "e1-7" });
  await until(/id: e1-7\.sig1\ndata: \{"type":"x"\}/);
  await until(/: heartbeat\nid: e1-7\.sig2\n\n/);
  assert.doesNotMatch(text, /: heartbeat\nid: e1-7\.sig1\n/, "the renewed id is freshly signed");
  connection!.close();
  await reader.cancel();
});
