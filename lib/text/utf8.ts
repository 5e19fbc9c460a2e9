/**
 * Size checks of strings in UTF-8 bytes without encoding them when the answer
 * is clear from their length: a UTF-16 code unit is 1 to 3 UTF-8 bytes.
 */

/** True when `text` takes more than `limit` bytes in UTF-8. Encodes only when its length cannot tell. */
export function exceedsUtf8Bytes(text: string, limit: number): boolean {
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  return new TextEncoder().encode(text).byteLength > limit;
}

/** The length of `text` in UTF-8 bytes. */
export function utf8Bytes(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}
