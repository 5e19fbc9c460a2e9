import assert from "node:assert/strict";
import { request, sharedServer, TEST_API_KEY } from "./harness.ts";
import {
  INTEGRATION,
  openNotificationSocket,
  publishOk,
  streamToken,
  userToken,
} from "./notifications_fixtures.ts";
import { EventSource } from "eventsource";
import { chatToken, connectChat, contents } from "./chat_fixtures.ts";

/** The server of every test below (each has its own user or channel). */
const shared = sharedServer();

/** Runs curl (a real process, as a user would) and returns its status code and JSON body. */
async function curl(args: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  const output = await new Deno.Command("curl", {
    args: ["-sS", "-w", "\n%{http_code}", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const text = new TextDecoder().decode(output.stdout);
  const split = text.lastIndexOf("\n");
  return { status: Number(text.slice(split + 1)), body: JSON.parse(text.slice(0, split)) };
}

Deno.test({
  name: 'curl -d "Backup done" with ntfy headers reaches the user as a `message` notification',
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const token = await userToken(server, "ada");
    await using socket = (await openNotificationSocket(server, token)).socket;

    const sent = await curl([
      "-H",
      `Authorization: Bearer ${TEST_API_KEY}`,
      "-H",
      "Title: nas01",
      "-H",
      "Tags: backup, disk",
      "-H",
      "Priority: high",
      "-H",
      "Click: https://nas01.example/backups",
      "-d",
      "Backup done",
      `${server.url}/api/notify/ada`,
    ]);
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const data = {
      message: "Backup done",
      title: "nas01",
      tags: ["backup", "disk"],
      priority: 4,
      link: "https://nas01.example/backups",
    };
    assert.deepEqual(sent.body.data, data);
    const frame = await socket.next((frame) => frame.type === "message");
    assert.equal(frame.id, sent.body.id);
    assert.deepEqual(frame.data, data);

    // The bare minimum: no headers at all.
    const plain = await curl([
      "-H",
      `Authorization: Bearer ${TEST_API_KEY}`,
      "-d",
      "Disk 91% full",
      `${server.url}/api/notify/ada`,
    ]);
    assert.equal(plain.status, 202);
    const second = await socket.next((frame) => frame.id === plain.body.id);
    assert.deepEqual(second.data, { message: "Disk 91% full" });
  },
});

Deno.test({
  name: "one-line publish: bad requests get their documented errors",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      request(`${server.url}${path}`, {
        method: "POST",
        body,
        headers: { Authorization: `Bearer ${TEST_API_KEY}`, ...headers },
      });
    const noKey = await request(`${server.url}/api/notify/ada`, { method: "POST", body: "x" });
    assert.equal(noKey.status, 401);
    assert.equal(noKey.body.error.code, "missing_api_key");
    const empty = await post("/api/notify/ada", "  \n");
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error.code, "missing_message");
    const priority = await post("/api/notify/ada", "x", { Priority: "asap" });
    assert.equal(priority.status, 400);
    assert.equal(priority.body.error.code, "invalid_priority");
    const user = await post("/api/notify/no%20spaces", "x");
    assert.equal(user.status, 400);
    assert.equal(user.body.error.code, "invalid_user");
    const click = await post("/api/notify/ada", "x", { Click: "javascript:alert(1)" });
    assert.equal(click.status, 400);
    assert.equal(click.body.error.code, "invalid_data");
    const ok = await post("/api/notify/ada", "x", { "X-Priority": "1", "X-Title": "t" });
    assert.equal(ok.status, 202);
    assert.deepEqual(ok.body.data, { message: "x", title: "t", priority: 1 });
  },
});

Deno.test({
  name: "since= takes all, a duration, a timestamp or a cursor on streams and history",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const token = await userToken(server, "ada_since");
    const history = (since: string) =>
      request(`${server.url}/api/notifications?since=${encodeURIComponent(since)}`, {
        bearer: token,
      });
    const [first] = await publishOk(server, {
      userId: "ada_since",
      type: "success",
      data: { message: "first" },
    });
    const firstTime = Date.parse((await history("all")).body.notifications[0].timestamp);
    // Publish until one lands in a later millisecond than the first (usually the first try).
    let later: { id: string; time: number };
    for (;;) {
      const [id] = await publishOk(server, {
        userId: "ada_since",
        type: "success",
        data: { message: "later" },
      });
      const item = (await history("all")).body.notifications.find((n: { id: string }) =>
        n.id === id
      );
      const time = Date.parse(item.timestamp);
      if (time > firstTime) {
        later = { id: id!, time };
        break;
      }
    }
    const laterIso = new Date(later.time).toISOString();
    const ids = (response: { body: { notifications: { id: string }[] } }) =>
      response.body.notifications.map((n) => n.id);

    // History.
    assert.ok(ids(await history("all")).includes(first!));
    assert.ok(ids(await history("10m")).includes(first!));
    assert.deepEqual(ids(await history(laterIso)), [later.id]);
    assert.deepEqual(ids(await history(String(Math.floor(Date.now() / 1000) + 5))), []);
    const bad = await history("yesterday");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "invalid_cursor");

    // WebSocket stream: all, a duration, a timestamp.
    const replayed = async (since: string) => {
      const { socket } = await openNotificationSocket(server, token, since);
      await using _ = socket;
      await socket.next((frame) => frame.id === later.id);
      return socket.frames.filter((frame) => frame.type === "success").map((frame) => frame.id);
    };
    assert.deepEqual(await replayed("all"), [first, later.id]);
    assert.deepEqual(await replayed("2h"), [first, later.id]);
    assert.deepEqual(await replayed(laterIso), [later.id]);

    // History after a stream cursor: what came after that notification.
    const { socket } = await openNotificationSocket(server, token, "all");
    const firstFrame = await socket.next((frame) => frame.id === first);
    await socket.close();
    assert.deepEqual(ids(await history(firstFrame.cursor)), [later.id]);

    // SSE with since=10m: a plain EventSource gets both.
    const stream = await streamToken(server, token);
    const source = new EventSource(
      `${server.url}/api/notifications/stream?token=${stream}&since=10m`,
    );
    try {
      const got: string[] = [];
      await new Promise<void>((resolve, reject) => {
        // Named by type today; unnamed (`message`) once streams default to onmessage.
        for (const name of ["success", "message"]) {
          source.addEventListener(name, (event) => {
            const frame = JSON.parse(event.data);
            if (frame.type !== "success") return;
            got.push(frame.id);
            if (got.length === 2) resolve();
          });
        }
        source.onerror = () => reject(new Error("stream failed"));
      });
      assert.deepEqual(got, [first, later.id]);
    } finally {
      source.close();
    }

    const badStream = await request(
      `${server.url}/api/notifications/stream?token=${await streamToken(server, token)}&since=soon`,
    );
    assert.equal(badStream.status, 400);
    assert.equal(badStream.body.error.code, "invalid_cursor");
  },
});

Deno.test({
  name: "chat: since=10m replays the channel's recent messages after a resumed initial_state",
  ...INTEGRATION,
  async fn() {
    const server = await shared();
    const token = await chatToken(server, "ada", { name: "Ada" });
    const first = await connectChat(server, "room", token);
    for (const content of ["one", "two"]) first.socket.send({ type: "message", content });
    await contents(first, 2);
    await first.socket.close();
    const later = await connectChat(server, "room", token, { since: "10m" });
    assert.equal(later.initial.resumed, true);
    assert.deepEqual(await contents(later, 2), ["one", "two"]);
  },
});
