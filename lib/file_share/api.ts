/** The HTTP calls of a live transfer (docs/transfer.md), for the share pages. */
import { ShareApiError } from "./errors.ts";

/** One announced file. */
export interface AnnouncedFile {
  name: string;
  size: number;
  type: string;
}

/** What `POST /api/transfer/create` answers. */
export interface CreatedTransfer {
  transferId: string;
  code: string;
  senderToken: string;
  expiresAt: string;
  joinUrl: string;
}

/** What `POST /api/transfer/join` answers. */
export interface JoinedTransfer {
  transferId: string;
  receiverToken: string;
  expiresAt: string;
  files: AnnouncedFile[];
}

/** What `GET /api/ice-servers` answers. */
export interface IceServerList {
  iceServers: RTCIceServer[];
  ttlSeconds: number;
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      ...init,
      headers: { "Content-Type": "application/json", ...init.headers },
    });
  } catch (error) {
    throw new ShareApiError(0, "network_error", "The server cannot be reached", { cause: error });
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ShareApiError(
      response.status,
      error?.code ?? "http_error",
      error?.message ?? `The server answered ${response.status}`,
    );
  }
  return body as T;
}

/** Creates a transfer session announcing `files`. */
export function createTransfer(files: AnnouncedFile[]): Promise<CreatedTransfer> {
  return call("/api/transfer/create", { method: "POST", body: JSON.stringify({ files }) });
}

/**
 * Joins a session by code. Rejects with {@linkcode ShareApiError}:
 * `session_not_found` (404), `session_already_joined` (409),
 * `session_expired` / `session_closed` (410), `rate_limited` (429).
 */
export function joinTransfer(code: string): Promise<JoinedTransfer> {
  return call("/api/transfer/join", { method: "POST", body: JSON.stringify({ code }) });
}

/**
 * STUN and TURN servers for `RTCPeerConnection`. TURN credentials are handed
 * only to a live session's sender or receiver, so the call carries the
 * session's code and this side's token (in a header, not the URL).
 */
export function fetchIceServers(session: { code: string; token: string }): Promise<IceServerList> {
  return call(`/api/ice-servers?code=${encodeURIComponent(session.code)}`, {
    headers: { Authorization: `Bearer ${session.token}` },
  });
}
