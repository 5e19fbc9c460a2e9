import { encodeBase64Url } from "../text/mod.ts";

/** The server secret and API key in force. */
export interface ServerSecrets {
  /** Signs every token. */
  secret: string;
  /** Authorizes backends. */
  apiKey: string;
  /** True only in the isolate that generated the API key just now (it prints it once). */
  apiKeyIsNew: boolean;
}

const SECRET_KEY = ["config", "server_secret"] as const;
const API_KEY_KEY = ["config", "api_key"] as const;

function randomToken(bytes: number): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Reads a value from KV, or stores a fresh one atomically; concurrent isolates agree on one. */
async function readOrCreate(
  kv: Deno.Kv,
  key: Deno.KvKey,
  make: () => string,
): Promise<{ value: string; created: boolean }> {
  while (true) {
    const existing = await kv.get<string>(key);
    if (typeof existing.value === "string") return { value: existing.value, created: false };
    const value = make();
    const result = await kv.atomic().check(existing).set(key, value).commit();
    if (result.ok) return { value, created: true };
  }
}

/**
 * Returns the server secret and API key: from the environment when set, otherwise
 * generated on first start and kept in KV so restarts keep tokens valid.
 */
export async function ensureServerSecrets(
  kv: Deno.Kv,
  fromEnv: { secret?: string | undefined; apiKey?: string | undefined },
): Promise<ServerSecrets> {
  const secret = fromEnv.secret ??
    (await readOrCreate(kv, SECRET_KEY, () => randomToken(32))).value;
  if (fromEnv.apiKey) return { secret, apiKey: fromEnv.apiKey, apiKeyIsNew: false };
  const apiKey = await readOrCreate(kv, API_KEY_KEY, () => `sb_${randomToken(24)}`);
  return { secret, apiKey: apiKey.value, apiKeyIsNew: apiKey.created };
}

/** Reads the generated API key back (for `deno task api-key`). */
export async function readStoredApiKey(kv: Deno.Kv): Promise<string | null> {
  return (await kv.get<string>(API_KEY_KEY)).value;
}
