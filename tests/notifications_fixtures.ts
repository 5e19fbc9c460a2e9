/**
 * @module
 * Helpers of the notification integration tests: tokens, publishing, and an
 * EventSource (npm `eventsource`) recorder.
 */
import assert from "node:assert/strict";
import { EventSource } from "eventsource";
import { request, TEST_API_KEY, type TestServer } from "./harness.ts";
import { type Frame, openSocket, type TestSocket } from "./ws_client.ts";

/** Options of every integration test. */
export const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

/**
 * The SSE events the recorder listens to: unnamed ones (`message`: notifications by
 * default), the control events, and the notification types used with `?events=named`.
 */
const SSE_EVENTS = [
  "message",
  "notification.read",
  "notification.ready",
  "success",
  "notification.error",
  "file_uploaded",
  "group.member.joined",
];

/** A user token minted with the API key. */
export async function userToken(server: TestServer, userId: string): Promise<string> {
  const response = await request(`${server.url}/api/tokens`, {
    method: "POST",
    bearer: TEST_API_KEY,
    json: { userId },
  });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.token;
}

/** A single-use stream token for a user token. */
export async function streamToken(server: TestServer, token: string): Promise<string> {
  const response = await request(`${server.url}/api/notifications/stream-token`, {
    method: "POST",
    bearer: token,
  });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.token;
}

/** `POST /api/notifications/publish` with the API key (or `bearer`). */
export function publish(
  server: TestServer,
  body: unknown,
  options: { bearer?: string | null; client?: Deno.HttpClient } = {},
) {
  const bearer = options.bearer === undefined ? TEST_API_KEY : options.bearer;
  return request(`${server.url}/api/notifications/publish`, {
    method: "POST",
    ...(bearer ? { bearer } : {}),
    json: body,
    ...(options.client ? { client: options.client } : {}),
  });
}

/** Publishes and asserts 202; resolves to the ids. */
export async function publishOk(server: TestServer, body: unknown): Promise<string[]> {
  const response = await publish(server, body);
  assert.equal(response.status, 202, JSON.stringify(response.body));
  return response.body.ids;
}

/** Opens the notification WebSocket of a user and waits for its ready frame. */
export async function openNotificationSocket(
  server: TestServer,
  token: string,
  since?: string,
): Promise<{ socket: TestSocket; ready: Frame }> {
  const query = since ? `&since=${encodeURIComponent(since)}` : "";
  const socket = await openSocket(
    `${server.wsUrl}/api/ws/notifications?token=${await streamToken(server, token)}${query}`,
  );
  const ready = await socket.next((frame) => frame.type === "notification.ready");
  return { socket, ready };
}

/** One SSE event as the EventSource delivered it. */
export interface SseRecord {
  event: string;
  id: string;
  data: Frame;
}

/** A recording EventSource client. */
export interface SseRecorder extends AsyncDisposable {
  source: EventSource;
  events: SseRecord[];
  /** Resolves once `count` events pass `predicate`. */
  collect(predicate: (record: SseRecord) => boolean, count: number, timeoutMs?: number): Promise<
    SseRecord[]
  >;
  close(): void;
}

/** Opens an EventSource (npm `eventsource`) and records the named events. */
export function openEventSource(
  url: string,
  options: { lastEventId?: string } = {},
): SseRecorder {
  const source = new EventSource(url, {
    fetch: (input, init) => {
      const headers = new Headers(init?.headers);
      if (options.lastEventId) headers.set("Last-Event-ID", options.lastEventId);
      return fetch(input, { ...init, headers });
    },
  });
  const events: SseRecord[] = [];
  const listeners = new Set<() => void>();
  for (const name of SSE_EVENTS) {
    source.addEventListener(name, (event) => {
      events.push({ event: name, id: event.lastEventId, data: JSON.parse(event.data) });
      for (const listener of listeners) listener();
    });
  }
  const recorder: SseRecorder = {
    source,
    events,
    collect(predicate, count, timeoutMs = 10_000) {
      // Checked on every event that arrives, not on a timer.
      return new Promise((resolve, reject) => {
        const check = () => {
          const matching = events.filter(predicate);
          if (matching.length < count) return;
          done();
          resolve(matching);
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `timed out waiting for ${count} SSE events; got ${JSON.stringify(events.slice(-5))}`,
            ),
          );
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    close: () => source.close(),
    [Symbol.asyncDispose]: () => Promise.resolve(source.close()),
  };
  return recorder;
}
