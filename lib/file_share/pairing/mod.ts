/**
 * @module
 * Verified pairing of a live transfer's two pages: a secret in the join link's
 * fragment that the server never sees, an ECDH (P-256) key agreement over the
 * signaling channel, HKDF keys bound to the secret when the receiver has it,
 * sealed (AES-GCM) values, key-confirmation codes and the short authentication
 * string both screens show. Browser-safe.
 *
 * @example
 * ```ts
 * import { generatePairingSecret, PairingSession } from "./mod.ts";
 *
 * const secret = generatePairingSecret();
 * const sender = await PairingSession.create("sender", { secret });
 * const receiver = await PairingSession.create("receiver", { secret });
 * await receiver.pair(sender.publicKey, { withSecret: true });
 * await sender.pair(receiver.publicKey, { withSecret: true });
 * console.log((await sender.sas(null)).join(" ") === (await receiver.sas(null)).join(" "));
 * ```
 */
export { openJson, sealJson } from "./envelope.ts";
export { PairingError } from "./errors.ts";
export {
  derivePairingKeys,
  generateKeyPair,
  type PairingKeys,
  PUBLIC_KEY_PATTERN,
  type StoredKeyPair,
} from "./keys.ts";
export {
  checkConfirmationCode,
  type ConfirmationClaim,
  confirmationCode,
  SAS_WORDS,
  sasWords,
  type Transcript,
} from "./sas.ts";
export {
  generatePairingSecret,
  linkWithSecret,
  SECRET_BYTES,
  secretFromFragment,
} from "./secret.ts";
export { type Fingerprints, PairingSession, type StoredPairing } from "./session.ts";
export { CONFIRM_MESSAGE, confirmMessage, firstConfirmation } from "./confirm_channel.ts";
