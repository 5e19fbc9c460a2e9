/**
 * Files of a live transfer: names fit for the session's file list, the text
 * snippet as a small file, and the `fallback-link` URLs that carry a file
 * through link mode when the browsers cannot connect.
 */
import { MAX_NAME_CHARS, MAX_TYPE_CHARS } from "./messages.ts";

/**
 * Media type of the optional text snippet. It travels as a small text file
 * (over the data channel or through link mode alike); the type parameter tells
 * the receive page to show it as text instead of a download.
 */
export const SNIPPET_TYPE = "text/plain;charset=utf-8;x-switchboard=snippet";
/** File name of the text snippet. */
export const SNIPPET_NAME = "Message.txt";
/** Longest snippet, in characters. */
export const MAX_SNIPPET_CHARS = 100_000;

/** True when a file of this media type is the text snippet. */
export function isSnippet(type: string): boolean {
  return /(^|;)\s*x-switchboard=snippet\s*(;|$)/i.test(type);
}

/** The snippet as a file. */
export function snippetFile(text: string): File {
  return new File([text], SNIPPET_NAME, { type: SNIPPET_TYPE });
}

/**
 * A name the server's file list accepts: no control characters, trimmed,
 * at most 255 characters (the extension kept), never empty.
 *
 * @example
 * ```ts
 * safeFileName(" report\n.pdf "); // "report.pdf"
 * ```
 */
export function safeFileName(name: string): string {
  let clean = name.replace(/[\u0000-\u001f\u007f]/g, "").trim();
  if (clean.length > MAX_NAME_CHARS) {
    const dot = clean.lastIndexOf(".");
    const extension = dot > 0 && clean.length - dot <= 16 ? clean.slice(dot) : "";
    clean = clean.slice(0, MAX_NAME_CHARS - extension.length) + extension;
  }
  return clean || "file";
}

/** A media type the server's file list accepts (else ""). */
export function safeFileType(type: string): string {
  return type.length <= MAX_TYPE_CHARS && !/[\u0000-\u001f\u007f]/.test(type) ? type : "";
}

/** Where file `index` of `count` can be fetched when the browsers could not connect. */
export interface FallbackLink {
  /** The link-mode file id. */
  id: string;
  /**
   * The AES-GCM key (base64url) from the `#k=` fragment, when the link has one;
   * a paired transfer's links have none (both pages derive the key).
   */
  key: string | null;
  index: number;
  count: number;
  /**
   * The sealed {@linkcode RelayTail} (`t`) when the upload is only the end of
   * the file (the receiver holds the beginning); null for a whole file.
   */
  tail: string | null;
}

/**
 * What a relay upload that holds only the end of a file says about it, sealed
 * with the pairing's key (label {@linkcode relayTailLabel}) so that neither the
 * server nor anyone rewriting the link can change it: where in the file the
 * uploaded bytes start, and the SHA-256 of the whole file, which the
 * receiver's hash over its own first bytes plus the downloaded rest must equal.
 */
export interface RelayTail {
  /** Where the uploaded bytes start in the file. */
  offset: number;
  /** The whole file's size. */
  size: number;
  /** SHA-256 (64 lower-case hex) of the whole file. */
  sha256: string;
}

/** The sealing label of file `index`'s {@linkcode RelayTail}: a box opens for that file only. */
export function relayTailLabel(index: number): string {
  return `relay-tail:${index}`;
}

/** Checks an opened {@linkcode RelayTail}; null when it is not well-formed. */
export function parseRelayTail(value: unknown): RelayTail | null {
  const tail = value as Partial<RelayTail> | null;
  if (
    !Number.isSafeInteger(tail?.offset) || !Number.isSafeInteger(tail?.size) ||
    typeof tail?.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(tail.sha256)
  ) return null;
  if (tail.offset! < 0 || tail.offset! > tail.size!) return null;
  return { offset: tail.offset!, size: tail.size!, sha256: tail.sha256 };
}

/**
 * The URL sent in a `fallback-link` frame: the link-mode download page with
 * which file of the transfer it is (`f`) and how many there are (`n`), so the
 * receive page can match links to its file list. The key (`k`) is dropped
 * unless `keepKey`: the paired pages derive it, so the server never sees it.
 * `tail`: the sealed {@linkcode RelayTail} of an upload that holds only the
 * end of the file.
 *
 * @example
 * ```ts
 * fallbackLinkUrl("https://sb.example/d/abc#k=KEY", 0, 2); // "https://sb.example/d/abc#f=0&n=2"
 * ```
 */
export function fallbackLinkUrl(
  linkUrl: string,
  index: number,
  count: number,
  options: { keepKey?: boolean; tail?: string } = {},
): string {
  const url = new URL(linkUrl);
  const fragment = new URLSearchParams(url.hash.slice(1));
  if (!options.keepKey) fragment.delete("k");
  fragment.set("f", String(index));
  fragment.set("n", String(count));
  if (options.tail) fragment.set("t", options.tail);
  url.hash = fragment.toString();
  return url.href;
}

/** Reads a `fallback-link` URL; null when it is not one this page can use. */
export function parseFallbackLink(linkUrl: string): FallbackLink | null {
  let url: URL;
  try {
    url = new URL(linkUrl);
  } catch {
    return null;
  }
  const id = /^\/d\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname)?.[1];
  const fragment = new URLSearchParams(url.hash.slice(1));
  const key = fragment.get("k");
  const index = Number(fragment.get("f"));
  const count = Number(fragment.get("n"));
  const tail = fragment.get("t");
  if (!id || (key !== null && !/^[A-Za-z0-9_-]{43}$/.test(key))) return null;
  if (tail !== null && !/^[A-Za-z0-9_-]{1,1024}$/.test(tail)) return null;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count)) return null;
  if (index < 0 || count < 1 || index >= count || count > 100) return null;
  return { id, key, index, count, tail };
}
