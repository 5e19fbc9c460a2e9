// Why @block65/webcrypto-web-push: it implements RFC 8291 `aes128gcm` and the RFC 8292 `vapid`
// scheme on WebCrypto alone (one small pure-JS dependency), so it runs on Deno Deploy, and
// its requests are what every push service accepts, Apple's included. `web-push` needs Node's
// crypto and http; `@pushforge/builder` 2.0.5 (also WebCrypto) still sends the legacy
// `Content-Encoding: aesgcm` of draft-04 (`Encryption`/`Crypto-Key` headers), not RFC 8291.
import { buildPushPayload } from "@block65/webcrypto-web-push";
import { pushEndpointProblem } from "./endpoints.ts";
import type { PushPayload } from "./payload.ts";
import type { PushDevice } from "./subscriptions.ts";
import type { VapidKeys } from "./vapid.ts";

/**
 * What became of one push request:
 * - `sent`: the push service took it (201);
 * - `gone`: the subscription no longer exists (404, 410): delete it;
 * - `retry`: try again later (429, 5xx, a network error or timeout);
 * - `rejected`: it will never work as it is (another 4xx, a redirect, a refused endpoint).
 */
export type PushOutcome = "sent" | "gone" | "retry" | "rejected";

/** The result of one push request. */
export interface PushAttemptResult {
  outcome: PushOutcome;
  /** The push service's HTTP status; null when there was no answer. */
  status: number | null;
  /** `Retry-After`, when the push service sent one. */
  retryAfterMs?: number;
  /** What went wrong, for the audit log (never the endpoint: it is a capability). */
  error?: string;
}

/** The fetch the sender calls (tests pass one that trusts their own certificate). */
export type PushFetch = (url: string, init: RequestInit) => Promise<Response>;

/** Options of {@linkcode PushSender}. */
export interface PushSenderOptions {
  vapid: VapidKeys;
  /** Hosts besides the known push services (`PUSH_ENDPOINT_HOSTS`). Default none. */
  extraHosts?: readonly string[];
  /** Default `globalThis.fetch`. */
  fetch?: PushFetch;
  /** Give up on a request after this long (default 10 s); counts as `retry`. */
  timeoutMs?: number;
}

/** Per message: how long the push service keeps it, how urgent it is, what it replaces. */
export interface PushMessageOptions {
  /** Seconds the push service holds it for an offline device (default 1 day). */
  ttlSeconds?: number;
  urgency?: "low" | "normal" | "high";
  /** A message with the same topic replaces an undelivered one (≤ 32 base64url characters). */
  topic?: string;
}

function retryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Sends Web Push messages: encrypts the payload for one subscription
 * (`aes128gcm`), signs the request with the VAPID key and POSTs it to the
 * subscription's endpoint, which must pass {@linkcode pushEndpointProblem} again
 * (the list may have changed since it was stored). Redirects are not followed.
 *
 * @example
 * ```ts
 * import { generateVapidKeys, PushSender } from "./mod.ts";
 * const keys = await generateVapidKeys();
 * const sender = new PushSender({ vapid: { ...keys, subject: "mailto:ops@example.com" } });
 * ```
 */
export class PushSender {
  readonly #vapid: VapidKeys;
  readonly #extraHosts: readonly string[];
  readonly #fetch: PushFetch;
  readonly #timeoutMs: number;

  constructor(options: PushSenderOptions) {
    this.#vapid = options.vapid;
    this.#extraHosts = options.extraHosts ?? [];
    this.#fetch = options.fetch ?? ((url, init) => fetch(url, init));
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Sends `payload` to one device; never throws. */
  async send(
    device: Pick<PushDevice, "endpoint" | "keys">,
    payload: PushPayload,
    options: PushMessageOptions = {},
  ): Promise<PushAttemptResult> {
    const problem = pushEndpointProblem(device.endpoint, this.#extraHosts);
    if (problem) return { outcome: "rejected", status: null, error: problem };
    let request;
    try {
      request = await buildPushPayload(
        {
          data: { ...payload },
          options: {
            ttl: options.ttlSeconds ?? 86_400,
            ...(options.urgency ? { urgency: options.urgency } : {}),
            ...(options.topic ? { topic: options.topic } : {}),
          },
        },
        { endpoint: device.endpoint, expirationTime: null, keys: device.keys },
        this.#vapid,
      );
    } catch (error) {
      return { outcome: "rejected", status: null, error: `Cannot encrypt: ${message(error)}` };
    }
    let response: Response;
    try {
      response = await this.#fetch(device.endpoint, {
        method: "POST",
        headers: request.headers,
        body: request.body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      return { outcome: "retry", status: null, error: message(error) };
    }
    await response.body?.cancel().catch(() => {});
    const status = response.status;
    const after = retryAfter(response.headers.get("retry-after"));
    const extra = after === undefined ? {} : { retryAfterMs: after };
    if (status >= 200 && status < 300) return { outcome: "sent", status };
    if (status === 404 || status === 410) return { outcome: "gone", status };
    if (status === 429 || status >= 500) return { outcome: "retry", status, ...extra };
    return {
      outcome: "rejected",
      status,
      error: status >= 300 && status < 400 ? "redirects are not followed" : `HTTP ${status}`,
    };
  }
}

function message(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 200);
}
