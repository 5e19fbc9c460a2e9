/** Parsing a single-range `Range: bytes=…` header (RFC 9110 §14). */

/** What a `Range` header asks of a representation of `size` bytes. */
export type RangeRequest =
  | { kind: "full" }
  | { kind: "partial"; start: number; end: number }
  | { kind: "unsatisfiable" };

/**
 * Reads a `Range` header against a file of `size` bytes. `end` is inclusive.
 * A missing header, another unit, several ranges or bad syntax ask for the whole
 * file (a server may ignore Range); a range that starts past the end is
 * unsatisfiable (416).
 *
 * @example
 * ```ts
 * parseRange("bytes=0-99", 1000); // { kind: "partial", start: 0, end: 99 }
 * parseRange("bytes=-10", 1000); // { kind: "partial", start: 990, end: 999 }
 * parseRange("bytes=5000-", 1000); // { kind: "unsatisfiable" }
 * ```
 */
export function parseRange(header: string | null | undefined, size: number): RangeRequest {
  if (!header) return { kind: "full" };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return { kind: "full" };
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return { kind: "full" };
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start)) return { kind: "unsatisfiable" };
  if (last !== "" && Number(last) < start) return { kind: "full" };
  if (start >= size) return { kind: "unsatisfiable" };
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: "partial", start, end };
}
