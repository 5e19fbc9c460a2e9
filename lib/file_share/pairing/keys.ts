/**
 * The key agreement of a pairing: an ECDH key pair per side (WebCrypto P-256,
 * which every browser has; X25519 is not in all of them yet), and the keys
 * both sides derive from it with HKDF-SHA-256, salted with the link's secret
 * when the receiver has it and bound to both public keys.
 */
import { decodeBase64Url, encodeBase64Url } from "../../text/mod.ts";

/** What a side keeps of its own key pair across a reload (session storage). */
export interface StoredKeyPair {
  /** The private key as a JWK. */
  privateKey: JsonWebKey;
  /** The public key, raw uncompressed point, base64url. */
  publicKey: string;
}

/** The keys of one pairing, the same on both sides when nobody came in between. */
export interface PairingKeys {
  /** AES-256-GCM: the sealed file list. */
  envelope: CryptoKey;
  /** HMAC-SHA-256: the key-confirmation codes. */
  confirm: CryptoKey;
  /** Derives the AES-256-GCM key of relayed file `index` (raw bytes, for link mode). */
  fileKey(index: number): Promise<Uint8Array<ArrayBuffer>>;
  /** True when the link's secret went into the derivation. */
  withSecret: boolean;
}

const ECDH: EcKeyImportParams = { name: "ECDH", namedCurve: "P-256" };
const encoder = new TextEncoder();

/** A P-256 public key is a 65-byte uncompressed point: 87 base64url characters. */
export const PUBLIC_KEY_PATTERN = /^[A-Za-z0-9_-]{87}$/;

/** A fresh key pair, in the form kept across a reload. */
export async function generateKeyPair(): Promise<StoredKeyPair> {
  const pair = await crypto.subtle.generateKey(ECDH, true, ["deriveBits"]) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return {
    privateKey: await crypto.subtle.exportKey("jwk", pair.privateKey),
    publicKey: encodeBase64Url(raw),
  };
}

async function importPublic(publicKey: string): Promise<CryptoKey> {
  if (!PUBLIC_KEY_PATTERN.test(publicKey)) throw new TypeError("Not a P-256 public key");
  return await crypto.subtle.importKey("raw", decodeBase64Url(publicKey), ECDH, false, []);
}

/**
 * Derives the pairing keys of `own` and the other side's `peerPublicKey`.
 * `senderPublicKey`/`receiverPublicKey` order the two halves the same way on
 * both sides; `secret` (the link's, or null) salts the derivation.
 */
export async function derivePairingKeys(
  own: StoredKeyPair,
  keys: { senderPublicKey: string; receiverPublicKey: string; secret: string | null },
): Promise<PairingKeys> {
  const peer = own.publicKey === keys.senderPublicKey
    ? keys.receiverPublicKey
    : keys.senderPublicKey;
  const privateKey = await crypto.subtle.importKey("jwk", own.privateKey, ECDH, false, [
    "deriveBits",
  ]);
  const shared = await crypto.subtle.deriveBits(
    { name: "ECDH", public: await importPublic(peer) },
    privateKey,
    256,
  );
  const base = await crypto.subtle.importKey("raw", shared, "HKDF", false, [
    "deriveKey",
    "deriveBits",
  ]);
  const salt = keys.secret === null ? new Uint8Array(32) : new Uint8Array(
    await crypto.subtle.digest("SHA-256", encoder.encode(`switchboard-secret:${keys.secret}`)),
  );
  const params = (purpose: string): HkdfParams => ({
    name: "HKDF",
    hash: "SHA-256",
    salt,
    info: encoder.encode(
      `switchboard-pairing-v1|${purpose}|${keys.senderPublicKey}|${keys.receiverPublicKey}`,
    ),
  });
  return {
    envelope: await crypto.subtle.deriveKey(
      params("envelope"),
      base,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    ),
    confirm: await crypto.subtle.deriveKey(
      params("confirm"),
      base,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      ["sign", "verify"],
    ),
    fileKey: async (index) =>
      new Uint8Array(await crypto.subtle.deriveBits(params(`file:${index}`), base, 256)),
    withSecret: keys.secret !== null,
  };
}
