import { CLOSE_CODES } from "./close_codes.ts";

/** Why a WebSocket connect was refused: the wire error and the close code that ends the socket. */
export interface WebSocketRefusal {
  /** The documented snake_case error code, e.g. `session_not_found`. */
  code: string;
  /** A sentence for people, e.g. `No transfer session "ABC123"`. */
  message: string;
  /** The close code (see {@linkcode refusalCloseCode}). */
  closeCode: number;
}

/**
 * The close code of a connect refused with HTTP `status`: 4000 + the status
 * (4400, 4401, 4403, 4404, 4409, 4410, 4429, 4503…), so the code tells what the
 * HTTP answer would have, and 1011 for anything outside 400–599.
 *
 * @example
 * ```ts
 * import { refusalCloseCode } from "./refusal.ts";
 * refusalCloseCode(404); // 4404: session not found, do not retry
 * ```
 */
export function refusalCloseCode(status: number): number {
  return status >= 400 && status <= 599 ? 4000 + status : CLOSE_CODES.internalError;
}

/**
 * Subprotocols the client offered in `Sec-WebSocket-Protocol`, split exactly as
 * `Deno.upgradeWebSocket` splits them (on ", "): a list joined with "," alone (the
 * `ws` package) would otherwise name a protocol Deno cannot find and make it
 * throw, a 500 any client could cause.
 */
export function offeredSubprotocols(request: Request): string[] {
  return (request.headers.get("sec-websocket-protocol") ?? "").split(", ")
    .filter((protocol) => protocol !== "");
}

/**
 * Completes a WebSocket upgrade only to refuse it: the socket opens, receives
 * one `{"type":"error","code","message"}` frame and is closed with
 * `refusal.closeCode` (reason: the error code). Browsers cannot read the HTTP
 * status of a failed upgrade (they see a bare network error), but they can read
 * this frame and close code, so a page can say "Session not found".
 */
export function refuseWebSocket(request: Request, refusal: WebSocketRefusal): Response {
  const { socket, response } = Deno.upgradeWebSocket(request, {
    idleTimeout: 30,
    ...(offeredSubprotocols(request).includes("switchboard") ? { protocol: "switchboard" } : {}),
  });
  socket.onopen = () => {
    try {
      socket.send(JSON.stringify({ type: "error", code: refusal.code, message: refusal.message }));
      // A close reason is at most 123 bytes; the code always fits.
      socket.close(refusal.closeCode, refusal.code.slice(0, 120));
    } catch { /* the client left already */ }
  };
  socket.onerror = () => {};
  return response;
}
