/**
 * File names from untrusted clients: cleaning them for storage, and serving them
 * back in a `Content-Disposition` header that cannot be used for injection.
 */
import { InvalidFilenameError } from "./errors.ts";

/** The longest raw name accepted at all; longer ones are refused, not truncated. */
const MAX_RAW_FILENAME_LENGTH = 4096;
/** Cleaned names are cut to this many UTF-8 bytes (the limit of common file systems). */
const MAX_FILENAME_BYTES = 255;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;
// Bidirectional overrides can make "gpj.exe" display as "exe.jpg"; zero-width marks hide characters.
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
const encoder = new TextEncoder();

function utf8Length(text: string): number {
  return encoder.encode(text).byteLength;
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes without splitting a character. */
function truncateUtf8(text: string, maxBytes: number): string {
  let result = "";
  let bytes = 0;
  for (const char of text) {
    const size = utf8Length(char);
    if (bytes + size > maxBytes) break;
    result += char;
    bytes += size;
  }
  return result;
}

/**
 * Cleans a client-supplied file name for storage: no control characters (so no
 * CR/LF), no path separators, no leading dots, no invisible direction marks, at
 * most 255 UTF-8 bytes (the extension is kept when the name is cut). Throws
 * {@linkcode InvalidFilenameError} when nothing usable is left.
 *
 * @example
 * ```ts
 * sanitizeFilename("../../etc/passwd"); // "_.._etc_passwd"
 * sanitizeFilename('a"\r\nSet-Cookie: x'); // 'a" Set-Cookie: x'
 * ```
 */
export function sanitizeFilename(raw: string): string {
  if (raw.length > MAX_RAW_FILENAME_LENGTH) {
    throw new InvalidFilenameError(`longer than ${MAX_RAW_FILENAME_LENGTH} characters`);
  }
  let name = raw.toWellFormed().normalize("NFC")
    .replace(CONTROL, " ")
    .replace(INVISIBLE, "")
    .replace(/[\\/]/g, "_")
    .replace(/\s+/g, " ")
    .replace(/^[\s.]+/, "")
    .replace(/[\s.]+$/, "");
  if (utf8Length(name) > MAX_FILENAME_BYTES) {
    const dot = name.lastIndexOf(".");
    const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
    const stem = name.slice(0, name.length - extension.length);
    name = truncateUtf8(stem, MAX_FILENAME_BYTES - utf8Length(extension)).trimEnd() + extension;
  }
  if (name.length === 0) throw new InvalidFilenameError("nothing is left after cleaning");
  return name;
}

/**
 * Reads the `X-Filename` header. Clients percent-encode non-ASCII names
 * (`encodeURIComponent`), since header values are bytes; a value that is not
 * valid percent-encoding is taken as it is, and raw UTF-8 bytes (as `curl -H`
 * sends them) are decoded as UTF-8.
 */
export function decodeFilenameHeader(value: string): string {
  let text = value;
  // Header values arrive as one character per byte: undo that for raw UTF-8.
  if (/[\u0080-\u00ff]/.test(text) && !/[^\u0000-\u00ff]/.test(text)) {
    try {
      const bytes = Uint8Array.from(text, (char) => char.charCodeAt(0));
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch { /* not UTF-8: keep the Latin-1 reading */ }
  }
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// RFC 5987 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
function encodeRfc5987(text: string): string {
  return encodeURIComponent(text.toWellFormed())
    .replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** An ASCII stand-in for old clients: printable ASCII only, no quote, backslash or percent. */
export function asciiFallbackFilename(name: string): string {
  const ascii = name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
    .replace(/[^\x20-\x7e]/g, "_")
    .replace(/["\\%;]/g, "_")
    .replace(/\//g, "_")
    .replace(/_{2,}/g, "_")
    .trim();
  return ascii.replace(/^\.+/, "") || "download";
}

/**
 * A `Content-Disposition: attachment` value with an ASCII `filename` fallback and
 * the exact name in RFC 6266 / RFC 5987 `filename*=UTF-8''…` form. Whatever the
 * name holds, the value is printable ASCII without line breaks.
 *
 * @example
 * ```ts
 * contentDisposition("résumé.pdf");
 * // `attachment; filename="resume.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`
 * ```
 */
export function contentDisposition(name: string): string {
  return `attachment; filename="${asciiFallbackFilename(name)}"; ` +
    `filename*=UTF-8''${encodeRfc5987(name)}`;
}

const INLINE_SAFE_TYPE =
  /^(image\/(png|jpeg|gif|webp|avif|bmp)|audio\/[\w.+-]+|video\/[\w.+-]+|text\/(plain|csv)|application\/(pdf|zip|gzip|x-tar|json|octet-stream))$/;

/**
 * The `Content-Type` to serve a stored file with: the declared type when it is on a
 * short list of types that cannot run script in our origin, else `application/octet-stream`.
 */
export function servedContentType(declared: string): string {
  const type = declared.split(";")[0]!.trim().toLowerCase();
  if (!INLINE_SAFE_TYPE.test(type)) return "application/octet-stream";
  return type.startsWith("text/") ? `${type}; charset=utf-8` : type;
}

/** Cleans a declared media type for storage (`type/subtype`, lowercase), or octet-stream. */
export function normalizeMediaType(declared: string | null | undefined): string {
  const type = (declared ?? "").split(";")[0]!.trim().toLowerCase();
  return /^[a-z0-9][\w.+-]{0,63}\/[a-z0-9][\w.+-]{0,127}$/.test(type)
    ? type
    : "application/octet-stream";
}
