/** The errors of a pairing. */

/** The two sides do not hold the same keys: someone came in between, or a secret is wrong. */
export class PairingError extends Error {
  override name = "PairingError";
}
