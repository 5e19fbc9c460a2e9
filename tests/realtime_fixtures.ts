/**
 * @module
 * Topic subscribers and publishers for the cross-isolate realtime tests: a
 * publish retried until accepted (across a restart), and subscribers that record
 * every event they get while reconnecting by themselves.
 */
import { RealtimeClient, type ServerFrame } from "../lib/client/mod.ts";
import { request, TEST_API_KEY, type TestServer } from "./harness.ts";

/** A token of user `reader`, allowed to read topics. */
export async function readerToken(server: TestServer): Promise<string> {
  const response = await request(`${server.url}/api/tokens`, {
    method: "POST",
    bearer: TEST_API_KEY,
    json: { userId: "reader", perms: ["topics:read"] },
  });
  return response.body.token;
}

/** Publishes until the server accepts (a restart may refuse some attempts); returns the offset. */
export async function publishAccepted(
  server: () => TestServer,
  topic: string,
  data: unknown,
  client: Deno.HttpClient,
  id?: string,
): Promise<number> {
  for (let attempt = 0;; attempt++) {
    try {
      const response = await fetch(`${server().url}/api/topics/${topic}/publish`, {
        method: "POST",
        client,
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(id ? { data, id } : { data }),
      });
      const body = await response.json();
      if (response.status === 202) return body.offset;
    } catch { /* the server is restarting */ }
    if (attempt > 400) throw new Error("publish never accepted");
    // The retry interval while the server restarts (nothing to wait on: it is not there).
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A topic subscriber that keeps the offsets and data of the events it got. */
export interface Subscriber {
  client: RealtimeClient;
  offsets: number[];
  data: unknown[];
}

/** Subscribes to `topic` over `transport` from the start, reconnecting by itself (20–200 ms). */
export function subscribe(
  server: () => TestServer,
  topic: string,
  token: string,
  transport: "websocket" | "sse",
): Subscriber {
  const subscriber: Subscriber = { offsets: [], data: [], client: null! };
  subscriber.client = new RealtimeClient<ServerFrame>({
    transport,
    initialCursor: "0",
    minDelayMs: 20,
    maxDelayMs: 200,
    url: (cursor) => {
      const base = transport === "sse"
        ? `${server().url}/api/topics/${topic}/events`
        : `${server().wsUrl}/api/ws/topics/${topic}`;
      return `${base}?token=${token}${cursor ? `&since=${cursor}` : ""}`;
    },
    onFrame: (frame) => {
      if (frame.type !== "event") return;
      subscriber.offsets.push(frame.offset as number);
      subscriber.data.push(frame.data);
    },
  });
  subscriber.client.start();
  return subscriber;
}
