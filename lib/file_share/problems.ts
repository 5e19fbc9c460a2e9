/**
 * What the share pages say when the server refuses a transfer, by error code:
 * the same words whether the refusal came from `POST /api/transfer/join` or as
 * the `error` frame of a refused signaling socket (docs/protocol.md, "Refused
 * connections").
 */
const REASONS: Record<string, string> = {
  session_already_joined: "Someone already joined this transfer. Each code works only once.",
  session_not_found:
    "Session not found: there is no transfer with this code. Check the code or ask for a new link.",
  session_expired: "This transfer has expired. Ask the sender to start a new one.",
  session_closed: "This transfer has ended.",
  invalid_transfer_token: "This page's pass for the transfer is not valid. Open the link again.",
  rate_limited: "Too many attempts from your network. Wait a minute and try again.",
  too_many_connections: "Too many connections from your network. Wait a moment and try again.",
};

/**
 * The sentence for people of a refused transfer operation: a known code's own
 * wording, else the server's `message`.
 *
 * @example
 * ```ts
 * import { transferProblemReason } from "./problems.ts";
 * transferProblemReason("session_not_found", "No session"); // "Session not found: …"
 * ```
 */
export function transferProblemReason(code: string, message: string): string {
  return Object.hasOwn(REASONS, code) ? REASONS[code]! : message;
}
