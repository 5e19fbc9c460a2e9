/**
 * Join codes: six characters from an alphabet without look-alikes, so a code
 * read aloud or typed from a phone screen comes out right.
 */

/**
 * The 30 characters codes use: digits 2–9 and the capital letters without
 * I, L, O and U (I/L/1, O/0 and U/V are easy to confuse). Lower case input is
 * accepted and upper-cased.
 */
export const CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Characters per code. */
export const CODE_LENGTH = 6;

/** How many different codes exist: 30^6 = 729,000,000. */
export const CODE_SPACE = CODE_ALPHABET.length ** CODE_LENGTH;

const CODE_PATTERN = new RegExp(`^[${CODE_ALPHABET}]{${CODE_LENGTH}}$`);

/**
 * A uniformly random code. Rejection sampling keeps every character equally
 * likely (256 is not a multiple of 30).
 *
 * @example
 * ```ts
 * generateCode(); // "K7QX3M"
 * ```
 */
export function generateCode(): string {
  const limit = 256 - (256 % CODE_ALPHABET.length);
  let code = "";
  while (code.length < CODE_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(CODE_LENGTH * 2))) {
      if (byte >= limit) continue;
      code += CODE_ALPHABET[byte % CODE_ALPHABET.length];
      if (code.length === CODE_LENGTH) break;
    }
  }
  return code;
}

/**
 * The canonical form of a code someone typed: trimmed, upper case, with spaces
 * and dashes removed ("k7q-x3m" → "K7QX3M"). Returns null when the result is
 * not a possible code, so lookups of garbage never touch storage.
 */
export function normalizeCode(input: string): string | null {
  const code = input.trim().toUpperCase().replace(/[\s-]/g, "");
  return CODE_PATTERN.test(code) ? code : null;
}
