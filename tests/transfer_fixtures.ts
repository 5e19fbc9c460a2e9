/**
 * @module
 * Helpers for the transfer tests: create and join sessions over HTTP and open
 * signaling sockets, all against a real server.
 */
import assert from "node:assert/strict";
import { request, type TestServer } from "./harness.ts";
import { openSocket, type TestSocket } from "./ws_client.ts";

/** What `POST /api/transfer/create` answers. */
export interface CreatedSession {
  transferId: string;
  code: string;
  senderToken: string;
  expiresAt: string;
  joinUrl: string;
}

/** What `POST /api/transfer/join` answers. */
export interface JoinedSession {
  transferId: string;
  receiverToken: string;
  expiresAt: string;
  files: { name: string; size: number; type: string }[];
}

/** Creates a session and checks the 201. */
export async function createSession(
  server: Pick<TestServer, "url">,
  body: Record<string, unknown> = {},
): Promise<CreatedSession> {
  const response = await request(`${server.url}/api/transfer/create`, {
    method: "POST",
    json: body,
  });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body;
}

/** Joins a session by code and checks the 200. */
export async function joinSession(
  server: Pick<TestServer, "url">,
  code: string,
): Promise<JoinedSession> {
  const response = await request(`${server.url}/api/transfer/join`, {
    method: "POST",
    json: { code },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

/** The signaling WebSocket URL of one side. */
export function signalingUrl(
  server: Pick<TestServer, "wsUrl">,
  options: { code: string; role: "creator" | "joiner"; token: string; since?: string | null },
): string {
  const query = new URLSearchParams({
    code: options.code,
    role: options.role,
    token: options.token,
  });
  if (options.since) query.set("since", options.since);
  return `${server.wsUrl}/api/ws/file-share-session?${query}`;
}

/** Opens the creator's socket. */
export function openCreator(
  server: Pick<TestServer, "wsUrl">,
  session: CreatedSession,
  since?: string | null,
): Promise<TestSocket> {
  return openSocket(
    signalingUrl(server, {
      code: session.code,
      role: "creator",
      token: session.senderToken,
      since,
    }),
  );
}

/** Opens the joiner's socket. */
export function openJoiner(
  server: Pick<TestServer, "wsUrl">,
  code: string,
  joined: JoinedSession,
  since?: string | null,
): Promise<TestSocket> {
  return openSocket(
    signalingUrl(server, { code, role: "joiner", token: joined.receiverToken, since }),
  );
}

/** A fake but well-formed SDP of `kind`, tagged so tests can tell offers apart. */
export function sdp(kind: "offer" | "answer", tag: string): { type: string; sdp: string } {
  return {
    type: kind,
    sdp: `v=0\r\no=- ${tag} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n` +
      `m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\na=sctp-port:5000\r\n`,
  };
}

/** A well-formed ICE candidate numbered `index`. */
export function candidate(index: number): Record<string, unknown> {
  return {
    candidate: `candidate:${index} 1 udp 2122260223 192.0.2.${index % 250} ${
      50000 + index
    } typ host`,
    sdpMid: "0",
    sdpMLineIndex: 0,
    usernameFragment: "sbtest",
  };
}

/** Sum of a metric's series over all labels matching `labels` in Prometheus text. */
export async function metricValue(
  server: Pick<TestServer, "url">,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (-?[\\d.e+]+)$`, "gm"))) {
    const series = match[1] ?? "";
    if (Object.entries(labels).every(([key, value]) => series.includes(`${key}="${value}"`))) {
      sum += Number(match[2]);
    }
  }
  return sum;
}
