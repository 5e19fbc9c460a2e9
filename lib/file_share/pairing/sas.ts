/**
 * What both sides check: the transcript of a pairing (both ECDH public keys and
 * both DTLS certificate fingerprints as each browser saw them in its
 * handshake), the short authentication string people compare (four words of
 * the BIP-39 English list: 44 bits), and the key-confirmation codes (HMAC
 * under the pairing's confirm key) that let the pages compare by themselves.
 */
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { decodeBase64Url, encodeBase64Url } from "../../text/mod.ts";

/** Words in a short authentication string. */
export const SAS_WORDS = 4;

/** Everything the two sides must agree on. */
export interface Transcript {
  senderPublicKey: string;
  receiverPublicKey: string;
  /** DTLS certificate fingerprints (`sha-256 AB:CD:…`); null on the relay path (no DTLS). */
  senderFingerprint: string | null;
  receiverFingerprint: string | null;
}

function transcriptBytes(transcript: Transcript): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify([
    "switchboard-sas-v1",
    transcript.senderPublicKey,
    transcript.receiverPublicKey,
    transcript.senderFingerprint,
    transcript.receiverFingerprint,
  ]));
}

/**
 * The words both screens show: the first 44 bits of SHA-256 of the transcript,
 * 11 bits per word.
 *
 * @example
 * ```ts
 * const words = await sasWords({
 *   senderPublicKey: "A".repeat(87),
 *   receiverPublicKey: "B".repeat(87),
 *   senderFingerprint: null,
 *   receiverFingerprint: null,
 * });
 * console.log(words.join(" ")); // four words, the same on both sides
 * ```
 */
export async function sasWords(transcript: Transcript): Promise<string[]> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", transcriptBytes(transcript)),
  );
  let bits = 0n;
  for (const byte of digest.subarray(0, 6)) bits = (bits << 8n) | BigInt(byte);
  const words: string[] = [];
  for (let word = 0; word < SAS_WORDS; word++) {
    const index = Number((bits >> BigInt(48 - 11 * (word + 1))) & 0x7ffn);
    words.push(wordlist[index]!);
  }
  return words;
}

/** Whose code, over what. */
export interface ConfirmationClaim {
  role: "sender" | "receiver";
  transcript: Transcript;
}

/** The key-confirmation code `role` sends for `transcript` (base64url HMAC-SHA-256). */
export async function confirmationCode(
  key: CryptoKey,
  { role, transcript }: ConfirmationClaim,
): Promise<string> {
  const data = new Uint8Array([
    ...new TextEncoder().encode(`${role}|`),
    ...transcriptBytes(transcript),
  ]);
  return encodeBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", key, data)));
}

/** True when `code` is what `role` sends for `transcript` (compared in constant time). */
export async function checkConfirmationCode(
  key: CryptoKey,
  code: string,
  { role, transcript }: ConfirmationClaim,
): Promise<boolean> {
  let mac: Uint8Array<ArrayBuffer>;
  try {
    mac = decodeBase64Url(code);
  } catch {
    return false;
  }
  const data = new Uint8Array([
    ...new TextEncoder().encode(`${role}|`),
    ...transcriptBytes(transcript),
  ]);
  return await crypto.subtle.verify("HMAC", key, mac, data);
}
