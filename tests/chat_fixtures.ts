/**
 * @module
 * Helpers of the chat integration tests: tokens, channel socket URLs, and
 * sockets spread over the isolates of a `deno serve --parallel` server.
 */
import assert from "node:assert/strict";
import { request, TEST_API_KEY, type TestServer, waitFor } from "./harness.ts";
import { type Frame, openSocket, type TestSocket } from "./ws_client.ts";

/** Options for every integration test that starts servers. */
export const INTEGRATION = { sanitizeOps: false, sanitizeResources: false };

/** A user token minted with the API key. */
export async function chatToken(
  server: TestServer,
  userId: string,
  options: { name?: string; perms?: string[]; channels?: string[] } = {},
): Promise<string> {
  const response = await request(`${server.url}/api/tokens`, {
    method: "POST",
    bearer: TEST_API_KEY,
    json: {
      userId,
      name: options.name ?? userId,
      ...(options.perms ? { perms: options.perms } : {}),
      ...(options.channels ? { channels: options.channels } : {}),
    },
  });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.token;
}

/** The channel socket URL. */
export function channelUrl(
  server: TestServer,
  channelId: string,
  token: string | null,
  options: { since?: string } = {},
): string {
  const query = new URLSearchParams();
  if (token) query.set("token", token);
  if (options.since) query.set("since", options.since);
  return `${server.wsUrl}/api/ws/channels/${channelId}?${query}`;
}

/** A connected chat client: its socket and its `initial_state`. */
export interface ChatClient {
  socket: TestSocket;
  initial: Frame;
  isolate: string;
  /** Message frames received so far (from the channel, not confirmations). */
  messages(): Frame[];
}

/** Opens a channel socket and waits for `initial_state`. */
export async function connectChat(
  server: TestServer,
  channelId: string,
  token: string,
  options: { since?: string } = {},
): Promise<ChatClient> {
  const socket = await openSocket(channelUrl(server, channelId, token, options));
  const initial = await socket.next((frame) => frame.type === "initial_state");
  return {
    socket,
    initial,
    isolate: initial.isolate,
    messages: () => socket.frames.filter((frame) => frame.type === "message" && !frame.duplicate),
  };
}

/**
 * Connects one client per token so that the clients together sit on at least
 * `isolates` different isolates (a new connection lands on any isolate, so
 * the last one is reopened until the spread is reached).
 */
export async function connectSpread(
  server: TestServer,
  channelId: string,
  tokens: string[],
  isolates = 2,
): Promise<ChatClient[]> {
  const clients: ChatClient[] = [];
  for (const token of tokens) clients.push(await connectChat(server, channelId, token));
  for (let attempt = 0; attempt < 40; attempt++) {
    if (new Set(clients.map((client) => client.isolate)).size >= isolates) return clients;
    const last = clients.pop()!;
    await last.socket.close();
    // In a channel at its limit the closed connection's place is given back in the
    // background (a KV write): until it lands the channel may still be full.
    const token = tokens[clients.length]!;
    clients.push(
      await waitFor(() => connectChat(server, channelId, token).catch(() => null), {
        timeoutMs: 10_000,
        message: "a place for the reopened connection",
      }),
    );
  }
  throw new Error(`could not spread ${tokens.length} connections over ${isolates} isolates`);
}

/** Waits until a client has `count` message frames and returns their contents. */
export async function contents(client: ChatClient, count: number): Promise<string[]> {
  await client.socket.collect((frame) => frame.type === "message" && !frame.duplicate, count);
  return client.messages().map((frame) => frame.message.content);
}

/** Reads the history endpoint. */
export async function history(
  server: TestServer,
  channelId: string,
  token: string,
  query = "",
  // deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
): Promise<{ status: number; body: any }> {
  return await request(`${server.url}/api/channels/${channelId}/messages${query}`, {
    bearer: token,
  });
}
