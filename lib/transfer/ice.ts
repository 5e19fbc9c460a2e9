/**
 * ICE servers for browsers: STUN from configuration, plus TURN in one of three
 * ways: static credentials, short-lived HMAC credentials for coturn's
 * `use-auth-secret`, or credentials minted by Cloudflare Calls TURN.
 */
import { z } from "zod";

/** One entry of `RTCConfiguration.iceServers`. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** What `GET /api/ice-servers` answers. */
export interface IceServerList {
  iceServers: IceServer[];
  /** How long the list (and its credentials) may be used, in seconds. */
  ttlSeconds: number;
}

/** Where TURN comes from, decided by which settings are present. */
export type TurnSource = "none" | "static" | "hmac" | "service";

/** ICE settings (from `STUN_URLS`, `TURN_*`). */
export interface IceSettings {
  stunUrls: string[];
  turnUrls: string[];
  turnUsername?: string | undefined;
  turnCredential?: string | undefined;
  /** coturn `static-auth-secret`. */
  turnSecret?: string | undefined;
  /** Life of minted credentials (HMAC and Cloudflare), in seconds. */
  ttlSeconds: number;
  /** Cloudflare Calls TURN key id and its API token. */
  turnServiceId?: string | undefined;
  turnServiceToken?: string | undefined;
  /** Base URL of the TURN service API. */
  turnServiceUrl: string;
}

/**
 * Which TURN source the settings select. The first complete one wins:
 * Cloudflare (`TURN_SERVICE_ID` + `TURN_SERVICE_TOKEN`), then HMAC
 * (`TURN_URLS` + `TURN_SECRET`), then static (`TURN_URLS` + `TURN_USERNAME` +
 * `TURN_CREDENTIAL`).
 */
export function turnSource(settings: IceSettings): TurnSource {
  if (settings.turnServiceId && settings.turnServiceToken) return "service";
  if (settings.turnUrls.length && settings.turnSecret) return "hmac";
  if (settings.turnUrls.length && settings.turnUsername && settings.turnCredential) return "static";
  return "none";
}

/**
 * Credentials for coturn's `use-auth-secret` (the "TURN REST API"): the user
 * name is `<expiry unix seconds>:<user>` and the password is
 * base64(HMAC-SHA1(secret, user name)). coturn recomputes the password from the
 * shared secret and refuses the name once its time has passed.
 *
 * @example
 * ```ts
 * const { username, credential } = await hmacTurnCredentials("secret", { user: "ab12", ttlSeconds: 3600 });
 * // username: "1767225600:ab12"
 * ```
 */
export async function hmacTurnCredentials(
  secret: string,
  options: { user: string; ttlSeconds: number; now?: number },
): Promise<{ username: string; credential: string; expiresAt: number }> {
  const expiresAt = Math.floor((options.now ?? Date.now()) / 1000) + options.ttlSeconds;
  const username = `${expiresAt}:${options.user}`;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const signature = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(username)),
  );
  let binary = "";
  for (const byte of signature) binary += String.fromCharCode(byte);
  return { username, credential: btoa(binary), expiresAt: expiresAt * 1000 };
}

const serviceServerSchema = z.object({
  urls: z.union([z.string(), z.array(z.string()).min(1)]),
  username: z.string().optional(),
  credential: z.string().optional(),
});

/**
 * Cloudflare's `/credentials/generate` answers `{iceServers: {urls, username,
 * credential}}`; the newer `/generate-ice-servers` answers an array. Both are read.
 */
const serviceResponseSchema = z.object({
  iceServers: z.union([serviceServerSchema, z.array(serviceServerSchema).min(1)]),
});

/** Options of {@linkcode IceServerProvider}. */
export interface IceServerProviderOptions {
  /** For requests to the TURN service. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** The clock (ms). Default `Date.now`. */
  now?: () => number;
  /** Called when the TURN service fails; the answer then has STUN only. */
  onServiceError?: (error: unknown) => void;
  /** Time limit of a TURN service request. Default 5 s. */
  serviceTimeoutMs?: number;
}

/** After a TURN service failure, wait this long before asking again. */
const SERVICE_RETRY_MS = 10_000;

/**
 * Answers ICE server lists. Cloudflare credentials are minted once and reused
 * by this isolate for the first half of their life, so a burst of page loads
 * makes one request to the service, and every answer is still valid for at
 * least half the TTL.
 */
export class IceServerProvider {
  #settings: IceSettings;
  #fetch: typeof fetch;
  #now: () => number;
  #onServiceError: (error: unknown) => void;
  #timeoutMs: number;
  #cached: { servers: IceServer[]; fetchedAt: number; expiresAt: number } | null = null;
  #pending: Promise<IceServer[] | null> | null = null;
  #retryAt = 0;

  constructor(settings: IceSettings, options: IceServerProviderOptions = {}) {
    this.#settings = settings;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#now = options.now ?? Date.now;
    this.#onServiceError = options.onServiceError ?? (() => {});
    this.#timeoutMs = options.serviceTimeoutMs ?? 5000;
  }

  /** Where TURN comes from. */
  get source(): TurnSource {
    return turnSource(this.#settings);
  }

  /** The ICE servers for one browser. */
  async get(): Promise<IceServerList> {
    const settings = this.#settings;
    const stun: IceServer[] = settings.stunUrls.length ? [{ urls: settings.stunUrls }] : [];
    const ttlSeconds = settings.ttlSeconds;
    switch (this.source) {
      case "none":
        return { iceServers: stun, ttlSeconds };
      case "static":
        return {
          iceServers: [...stun, {
            urls: settings.turnUrls,
            username: settings.turnUsername!,
            credential: settings.turnCredential!,
          }],
          ttlSeconds,
        };
      case "hmac": {
        const user = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
        const { username, credential } = await hmacTurnCredentials(settings.turnSecret!, {
          user,
          ttlSeconds,
          now: this.#now(),
        });
        return {
          iceServers: [...stun, { urls: settings.turnUrls, username, credential }],
          ttlSeconds,
        };
      }
      case "service": {
        const servers = await this.#serviceServers();
        if (!servers) return { iceServers: stun, ttlSeconds: 60 };
        const remaining = Math.floor((this.#cached!.expiresAt - this.#now()) / 1000);
        return { iceServers: [...stun, ...servers], ttlSeconds: Math.max(1, remaining) };
      }
    }
  }

  async #serviceServers(): Promise<IceServer[] | null> {
    const now = this.#now();
    const cached = this.#cached;
    const halfLife = (this.#settings.ttlSeconds * 1000) / 2;
    if (cached && now < cached.fetchedAt + halfLife) return cached.servers;
    if (now < this.#retryAt) {
      return cached && cached.expiresAt - now > 60_000 ? cached.servers : null;
    }
    this.#pending ??= this.#requestService().finally(() => this.#pending = null);
    return await this.#pending;
  }

  async #requestService(): Promise<IceServer[] | null> {
    const settings = this.#settings;
    const base = settings.turnServiceUrl.replace(/\/+$/, "");
    const url = `${base}/v1/turn/keys/${
      encodeURIComponent(settings.turnServiceId!)
    }/credentials/generate`;
    const fetchedAt = this.#now();
    try {
      const response = await this.#fetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${settings.turnServiceToken}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ ttl: settings.ttlSeconds }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`TURN service answered ${response.status}`);
      }
      const parsed = serviceResponseSchema.parse(await response.json());
      const list = Array.isArray(parsed.iceServers) ? parsed.iceServers : [parsed.iceServers];
      const servers: IceServer[] = list.map((server) => ({
        urls: server.urls,
        ...(server.username !== undefined ? { username: server.username } : {}),
        ...(server.credential !== undefined ? { credential: server.credential } : {}),
      }));
      this.#cached = {
        servers,
        fetchedAt,
        expiresAt: fetchedAt + settings.ttlSeconds * 1000,
      };
      return servers;
    } catch (error) {
      this.#retryAt = this.#now() + SERVICE_RETRY_MS;
      this.#onServiceError(error);
      // Credentials from an earlier request that still have a minute left beat none.
      const cached = this.#cached;
      return cached && cached.expiresAt - this.#now() > 60_000 ? cached.servers : null;
    }
  }
}
