/** Downloading a link-mode file, decrypting it record by record when it is encrypted. */
import { decodeBase64Url } from "../text/mod.ts";
import { ApiClientError, apiErrorOf, apiFetch } from "../client/mod.ts";
import { abortError, DecryptionError } from "./errors.ts";
import {
  createDecryptStream,
  decryptMetadata,
  type EncryptedMetadata,
  importKey,
} from "./format.ts";

/** What `GET /api/files/:id` says about a file, with the decrypted name when a key was given. */
export interface FileInfo {
  id: string;
  /** The real name: decrypted from the file when it is encrypted and the key is known. */
  name: string;
  /** Plaintext size when known (decrypted metadata), else the stored size. */
  size: number;
  type: string;
  /** Bytes stored on the server. */
  storedSize: number;
  encrypted: boolean;
  expiresAt: string;
  downloadsLeft: number | null;
  downloadUrl: string;
  /** True when the name and size come from the decrypted metadata. */
  decrypted: boolean;
}

/** Options of {@linkcode getFileInfo} and {@linkcode downloadFile}. */
export interface DownloadOptions {
  /** Origin of the Switchboard server. Default: the page's own. */
  baseUrl?: string;
  /** The base64url key from the link's `#k=` fragment (needed for encrypted files). */
  key?: string;
  /** Cancels the download. */
  signal?: AbortSignal;
  /** Bytes received of the stored size. */
  onProgress?: (progress: { loaded: number; total: number }) => void;
}

/** A downloaded (and, when encrypted, decrypted and verified) file. */
export interface DownloadedFile {
  blob: Blob;
  name: string;
  type: string;
  size: number;
  encrypted: boolean;
}

function endpoint(baseUrl: string | undefined, path: string): string {
  return baseUrl ? new URL(path, baseUrl).href : path;
}

/**
 * Reads the id and key from a share link (`…/d/<id>#k=<key>`).
 *
 * @example
 * ```ts
 * parseShareUrl("https://sb.example/d/abc#k=xyz"); // { id: "abc", key: "xyz" }
 * ```
 */
export function parseShareUrl(url: string): { id: string; key?: string } {
  const parsed = new URL(url, "http://localhost");
  const id = /\/d\/([A-Za-z0-9_-]+)\/?$/.exec(parsed.pathname)?.[1];
  if (!id) throw new SyntaxError(`Not a download link: ${url}`);
  const key = new URLSearchParams(parsed.hash.slice(1)).get("k") ?? undefined;
  return key ? { id, key } : { id };
}

/** Imports a base64url key; a malformed one is a {@linkcode DecryptionError}. */
export async function importLinkKey(key: string): Promise<CryptoKey> {
  let raw: Uint8Array;
  try {
    raw = decodeBase64Url(key);
  } catch {
    throw new DecryptionError("The key in this link is malformed");
  }
  return await importKey(raw);
}

/**
 * Describes a file without counting a download. For an encrypted file and a key,
 * the real name, type and size are decrypted from the file's first bytes.
 */
export async function getFileInfo(id: string, options: DownloadOptions = {}): Promise<FileInfo> {
  const body = await apiFetch<{
    id: string;
    name: string;
    size: number;
    type: string;
    encrypted: boolean;
    expiresAt: string;
    downloadsLeft: number | null;
    downloadUrl: string;
    encryptionHeader?: string;
  }>(endpoint(options.baseUrl, `/api/files/${encodeURIComponent(id)}`), {
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const info: FileInfo = {
    id: body.id,
    name: body.name,
    size: body.size,
    type: body.type,
    storedSize: body.size,
    encrypted: body.encrypted,
    expiresAt: body.expiresAt,
    downloadsLeft: body.downloadsLeft,
    downloadUrl: body.downloadUrl,
    decrypted: false,
  };
  if (body.encrypted && options.key && body.encryptionHeader) {
    const metadata = await decryptMetadata(
      decodeBase64Url(body.encryptionHeader),
      await importLinkKey(options.key),
    );
    Object.assign(info, { name: metadata.name, type: metadata.type, size: metadata.size });
    info.decrypted = true;
  }
  return info;
}

/** The name from `Content-Disposition` (`filename*` first). */
function dispositionName(header: string | null): string | undefined {
  const extended = /filename\*=UTF-8''([^;\s]+)/i.exec(header ?? "")?.[1];
  if (extended) {
    try {
      return decodeURIComponent(extended);
    } catch { /* fall through */ }
  }
  return /filename="([^"]*)"/i.exec(header ?? "")?.[1];
}

/**
 * Downloads a file (this counts against its download limit). An encrypted file
 * is decrypted as it streams in and every record is verified; any change to the
 * stored bytes, a cut-off or a wrong key rejects with {@linkcode DecryptionError}.
 *
 * @example
 * ```ts
 * const { id, key } = parseShareUrl(location.href);
 * const file = await downloadFile(id, {
 *   key,
 *   onProgress: ({ loaded, total }) => console.log(`${loaded} of ${total} bytes`),
 * });
 * const save = Object.assign(document.createElement("a"), {
 *   href: URL.createObjectURL(file.blob),
 *   download: file.name,
 * });
 * save.click();
 * ```
 */
export async function downloadFile(
  id: string,
  options: DownloadOptions = {},
): Promise<DownloadedFile> {
  const { signal } = options;
  let response: Response;
  try {
    response = await fetch(endpoint(options.baseUrl, `/api/download/${encodeURIComponent(id)}`), {
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    throw new ApiClientError(0, "network_error", "The download failed", { cause: error });
  }
  if (!response.ok || !response.body) throw await apiErrorOf(response);
  const encrypted = response.headers.get("x-encrypted") === "1";
  const total = Number(response.headers.get("content-length") ?? 0);
  let loaded = 0;
  let stream = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        options.onProgress?.({ loaded, total });
        controller.enqueue(chunk);
      },
    }),
  );
  let metadata: EncryptedMetadata | undefined;
  if (encrypted) {
    if (!options.key) throw new DecryptionError("This file is encrypted and the link has no key");
    stream = stream.pipeThrough(
      createDecryptStream(await importLinkKey(options.key), {
        onMetadata: (sealed) => metadata = sealed,
      }),
    );
  }
  // Plaintext is gathered into blobs of a few MiB, which browsers may page out to disk.
  let blob = new Blob([]);
  let parts: Uint8Array[] = [];
  let partBytes = 0;
  try {
    for await (const chunk of stream) {
      parts.push(chunk);
      partBytes += chunk.byteLength;
      if (partBytes >= 4 << 20) {
        blob = new Blob([blob, ...parts as BlobPart[]]);
        parts = [];
        partBytes = 0;
      }
    }
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    if (error instanceof DecryptionError) throw error;
    throw new ApiClientError(0, "network_error", "The download was interrupted", {
      cause: error,
    });
  }
  const type = metadata?.type ?? response.headers.get("content-type") ?? "application/octet-stream";
  blob = new Blob([blob, ...parts as BlobPart[]], { type });
  return {
    blob,
    name: metadata?.name ?? dispositionName(response.headers.get("content-disposition")) ?? id,
    type,
    size: blob.size,
    encrypted,
  };
}
