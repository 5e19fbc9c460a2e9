/**
 * Sealed values: JSON encrypted with AES-256-GCM under the pairing's envelope
 * key, so the server relays and stores only ciphertext. The label is the
 * additional data: a value sealed for one purpose does not open as another.
 */
import { decodeBase64Url, encodeBase64Url } from "../../text/mod.ts";
import { PairingError } from "./errors.ts";

const IV_BYTES = 12;

/** Seals `value` (any JSON) as `base64url(iv | ciphertext)`. */
export async function sealJson(key: CryptoKey, value: unknown, label: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(label) },
    key,
    new TextEncoder().encode(JSON.stringify(value)),
  );
  const out = new Uint8Array(IV_BYTES + sealed.byteLength);
  out.set(iv);
  out.set(new Uint8Array(sealed), IV_BYTES);
  return encodeBase64Url(out);
}

/** Opens a sealed value; a wrong key, label or any changed byte is a {@linkcode PairingError}. */
export async function openJson(key: CryptoKey, box: string, label: string): Promise<unknown> {
  try {
    const bytes = decodeBase64Url(box);
    const plain = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: bytes.subarray(0, IV_BYTES),
        additionalData: new TextEncoder().encode(label),
      },
      key,
      bytes.subarray(IV_BYTES),
    );
    return JSON.parse(new TextDecoder().decode(plain));
  } catch (error) {
    throw new PairingError("The sealed data does not open with this pairing's key", {
      cause: error,
    });
  }
}
