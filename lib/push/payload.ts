import { describeNotification } from "../notifications/examples.ts";
import { safeLinkTarget } from "../notifications/links.ts";
import { utf8Bytes } from "../text/mod.ts";

/**
 * The most JSON a push message may carry: a push service must accept 4096
 * bytes of body (RFC 8030 §7.2), and the `aes128gcm` header (86 bytes), the
 * padding delimiter and the tag (17) come out of that.
 */
export const MAX_PUSH_PAYLOAD_BYTES = 3993;

/** What the service worker gets in a push message: enough to show it, nothing more. */
export interface PushPayload {
  id: string;
  type: string;
  title: string;
  body: string;
  /** The notification's `data.link` when it is a safe link (see `safeLinkTarget`), else null. */
  link: string | null;
  timestamp: string;
  requiresAck: boolean;
}

/** The parts of a notification a push payload is made from. */
export interface PushSource {
  id: string;
  type: string;
  data: Record<string, unknown>;
  timestamp: string;
  requiresAck: boolean;
}

function cut(text: string, chars: number): string {
  const characters = [...text];
  return characters.length <= chars ? text : `${characters.slice(0, chars - 1).join("")}…`;
}

/**
 * The push payload of a notification: the title and body the bell would show
 * (`describeNotification`), its safe link, id and type. Never the whole `data`:
 * the push service relays it (encrypted), and the device shows it on a lock
 * screen. Kept within {@linkcode MAX_PUSH_PAYLOAD_BYTES}: the body, then the
 * link, then the title give way.
 *
 * @example
 * ```ts
 * const payload = pushPayloadFor({
 *   id: "n1",
 *   type: "success",
 *   data: { message: "Build finished", link: "/d/abc" },
 *   timestamp: new Date().toISOString(),
 *   requiresAck: false,
 * });
 * payload.link; // "/d/abc"
 * ```
 */
export function pushPayloadFor(source: PushSource): PushPayload {
  const { title, body } = describeNotification(source.type, source.data);
  const payload: PushPayload = {
    id: source.id,
    type: source.type,
    title: cut(title, 120),
    body: cut(body, 400),
    link: safeLinkTarget(source.data.link),
    timestamp: source.timestamp,
    requiresAck: source.requiresAck,
  };
  const size = () => utf8Bytes(JSON.stringify(payload));
  while (size() > MAX_PUSH_PAYLOAD_BYTES && payload.body.length > 1) {
    payload.body = cut(payload.body, Math.floor([...payload.body].length / 2));
  }
  if (size() > MAX_PUSH_PAYLOAD_BYTES) payload.link = null;
  if (size() > MAX_PUSH_PAYLOAD_BYTES) payload.title = cut(payload.title, 40);
  return payload;
}
