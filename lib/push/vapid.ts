import { decodeBase64Url, encodeBase64Url } from "../text/mod.ts";

/** The server's VAPID identity (RFC 8292): what signs every push request. */
export interface VapidKeys {
  /** The uncompressed P-256 public key, base64url (what browsers subscribe with). */
  publicKey: string;
  /** The private key (the JWK's `d`), base64url. */
  privateKey: string;
  /** A `mailto:` or `https:` contact that push services may use. */
  subject: string;
}

/** Thrown when configured VAPID keys cannot be used. */
export class VapidKeyError extends Error {
  override name = "VapidKeyError";
}

const VAPID_KEYS_KEY = ["config", "vapid_keys"] as const;

/** The subject used when `VAPID_SUBJECT` is unset and `PUBLIC_URL` is not https. */
export const FALLBACK_VAPID_SUBJECT = "mailto:switchboard@localhost";

/** A fresh VAPID key pair. */
export async function generateVapidKeys(): Promise<{ publicKey: string; privateKey: string }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  return { publicKey: encodeBase64Url(raw), privateKey: jwk.d! };
}

/**
 * Checks that a public and private key belong together (a signature made with
 * one verifies with the other). Throws {@linkcode VapidKeyError}.
 */
export async function checkVapidPair(publicKey: string, privateKey: string): Promise<void> {
  let raw: Uint8Array<ArrayBuffer> | null = null;
  try {
    raw = decodeBase64Url(publicKey);
  } catch { /* not base64url: refused below */ }
  if (!raw || raw.length !== 65 || raw[0] !== 4) {
    throw new VapidKeyError("VAPID_PUBLIC_KEY is not an uncompressed P-256 public key");
  }
  const jwk = {
    kty: "EC",
    crv: "P-256",
    x: encodeBase64Url(raw.slice(1, 33)),
    y: encodeBase64Url(raw.slice(33, 65)),
  };
  try {
    const signing = await crypto.subtle.importKey(
      "jwk",
      { ...jwk, d: privateKey },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["sign"],
    );
    const verifying = await crypto.subtle.importKey(
      "jwk",
      jwk,
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const algorithm = { name: "ECDSA", hash: "SHA-256" };
    const probe = new TextEncoder().encode("switchboard vapid check");
    const signature = await crypto.subtle.sign(algorithm, signing, probe);
    if (await crypto.subtle.verify(algorithm, verifying, signature, probe)) return;
  } catch (cause) {
    throw new VapidKeyError("VAPID_PRIVATE_KEY is not a P-256 private key", { cause });
  }
  throw new VapidKeyError("VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are not one key pair");
}

/**
 * The VAPID keys in force: from the environment when both are set (checked to
 * be one pair), otherwise generated on first start and kept in KV, like the
 * server secret, so subscriptions made against them keep working after a
 * restart and on every isolate. The subject is `VAPID_SUBJECT`, else an https
 * `PUBLIC_URL`, else {@linkcode FALLBACK_VAPID_SUBJECT}.
 *
 * @example
 * ```ts
 * const kv = await Deno.openKv(":memory:");
 * const keys = await ensureVapidKeys(kv, {});
 * keys.publicKey.length; // 87
 * kv.close();
 * ```
 */
export async function ensureVapidKeys(
  kv: Deno.Kv,
  fromEnv: {
    publicKey?: string | undefined;
    privateKey?: string | undefined;
    subject?: string | undefined;
    publicUrl?: string | undefined;
  },
): Promise<VapidKeys> {
  const subject = fromEnv.subject ??
    (fromEnv.publicUrl?.startsWith("https://")
      ? new URL(fromEnv.publicUrl).origin
      : FALLBACK_VAPID_SUBJECT);
  if (fromEnv.publicKey || fromEnv.privateKey) {
    if (!fromEnv.publicKey || !fromEnv.privateKey) {
      throw new VapidKeyError("Set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither");
    }
    await checkVapidPair(fromEnv.publicKey, fromEnv.privateKey);
    return { publicKey: fromEnv.publicKey, privateKey: fromEnv.privateKey, subject };
  }
  while (true) {
    const existing = await kv.get<{ publicKey: string; privateKey: string }>(VAPID_KEYS_KEY);
    const stored = existing.value;
    if (typeof stored?.publicKey === "string" && typeof stored.privateKey === "string") {
      return { publicKey: stored.publicKey, privateKey: stored.privateKey, subject };
    }
    // Isolates starting together race here; the atomic check lets exactly one key pair win.
    const fresh = await generateVapidKeys();
    const result = await kv.atomic().check(existing).set(VAPID_KEYS_KEY, fresh).commit();
    if (result.ok) return { ...fresh, subject };
  }
}
