/** The HTTP calls of a live transfer (docs/transfer.md), for the share pages. */
import { apiFetch } from "../client/mod.ts";

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

/** Creates a transfer session announcing `files`. */
export function createTransfer(files: AnnouncedFile[]): Promise<CreatedTransfer> {
  return apiFetch("/api/transfer/create", { method: "POST", json: { files } });
}

/**
 * Joins a session by code. Rejects with `ApiClientError` (`lib/client`):
 * `session_not_found` (404), `session_already_joined` (409),
 * `session_expired` / `session_closed` (410), `rate_limited` (429).
 */
export function joinTransfer(code: string): Promise<JoinedTransfer> {
  return apiFetch("/api/transfer/join", { method: "POST", json: { code } });
}

/**
 * STUN and TURN servers for `RTCPeerConnection`. TURN credentials are handed
 * only to a live session's sender or receiver, so the call carries the
 * session's code and this side's token (in a header, not the URL).
 */
export function fetchIceServers(session: { code: string; token: string }): Promise<IceServerList> {
  return apiFetch(`/api/ice-servers?code=${encodeURIComponent(session.code)}`, {
    token: session.token,
  });
}
