import assert from "node:assert/strict";
import { RealtimeClient, type StatusDetail } from "./realtime_client.ts";

/** A WebSocket stand-in the test drives: open it, give it frames, close it. */
class FakeSocket {
  static created: FakeSocket[] = [];
  static listeners = new Set<() => void>();
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string, readonly protocols?: string[]) {
    FakeSocket.created.push(this);
    for (const listener of FakeSocket.listeners) listener();
  }
  send(_text: string): void {}
  close(): void {}
  /** What a refusing server does: open, one error frame, close with `code`. */
  refuse(code: number, error: { code: string; message: string }): void {
    this.readyState = 1;
    this.onopen?.();
    this.onmessage?.({ data: JSON.stringify({ type: "error", ...error }) });
    this.readyState = 3;
    this.onclose?.({ code, reason: error.code });
  }
}

function client(statuses: [string, StatusDetail | undefined][]): RealtimeClient {
  return new RealtimeClient({
    url: () => "ws://switchboard.test/api/ws/file-share-session?code=ZZZZZZ&role=joiner",
    onFrame: () => {},
    onStatus: (status, detail) => statuses.push([status, detail]),
    minDelayMs: 1,
    maxDelayMs: 1000,
    WebSocket: FakeSocket as unknown as typeof WebSocket,
  });
}

/** Resolves with the `number`th socket (1-based) once the client created it. */
function socketNumber(number: number): Promise<FakeSocket> {
  return new Promise((resolve) => {
    const check = () => {
      const socket = FakeSocket.created[number - 1];
      if (!socket) return;
      FakeSocket.listeners.delete(check);
      resolve(socket);
    };
    FakeSocket.listeners.add(check);
    check();
  });
}

Deno.test("RealtimeClient stops on a 4404 refusal and reports the server's error with it", async () => {
  const statuses: [string, StatusDetail | undefined][] = [];
  const realtime = client(statuses);
  realtime.start();
  (await socketNumber(1)).refuse(4404, { code: "session_not_found", message: "No session ZZZZZZ" });
  assert.equal(realtime.status, "closed");
  assert.deepEqual(statuses.at(-1), ["closed", {
    code: 4404,
    reason: "session_not_found",
    error: { code: "session_not_found", message: "No session ZZZZZZ" },
  }]);
  assert.equal(FakeSocket.created.length, 1, "no reconnect after a final refusal");
  FakeSocket.created = [];
});

Deno.test("RealtimeClient retries a full channel (4503) with a backoff that keeps growing", async () => {
  const statuses: [string, StatusDetail | undefined][] = [];
  const realtime = client(statuses);
  realtime.start();
  const full = { code: "channel_full", message: "#small is full" };
  for (let number = 1; number <= 3; number++) (await socketNumber(number)).refuse(4503, full);
  await socketNumber(4);
  realtime.close();
  const delays = statuses.flatMap(([status, detail]) =>
    status === "reconnecting" && detail?.delayMs !== undefined ? [detail.delayMs] : []
  );
  assert.equal(delays.length, 3);
  // Jitter keeps each delay in [50%, 100%] of 1, 2, 4 ms: a refused open does not reset it.
  assert.ok(delays[0]! <= 1 && delays[2]! >= 2, `the backoff grows: ${delays}`);
  assert.deepEqual(statuses.find(([status]) => status === "reconnecting")?.[1]?.error, full);
  FakeSocket.created = [];
});

Deno.test("RealtimeClient: reconnectNow() while the URL is still being fetched opens one socket, not two", async () => {
  FakeSocket.created = [];
  // Each connect asks for its URL (a stream token to mint); the test answers them.
  const pending: ((url: string) => void)[] = [];
  const realtime = new RealtimeClient({
    url: () => new Promise<string>((resolve) => pending.push(resolve)),
    onFrame: () => {},
    WebSocket: FakeSocket as unknown as typeof WebSocket,
  });
  realtime.start();
  realtime.reconnectNow();
  assert.equal(pending.length, 2, "both connects asked for a URL");
  pending[1]!("ws://switchboard.test/second");
  pending[0]!("ws://switchboard.test/first");
  await socketNumber(1);
  await Promise.resolve();
  assert.deepEqual(
    FakeSocket.created.map((socket) => socket.url),
    ["ws://switchboard.test/second"],
    "the older connect gave way",
  );
  realtime.close();
  FakeSocket.created = [];
});
