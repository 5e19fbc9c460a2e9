/** Uploading a file to link mode, encrypted in the browser by default. */
import { encodeBase64Url } from "../text/mod.ts";
import { ApiClientError, apiFetch, parseApiError } from "../client/mod.ts";
import { abortError } from "./errors.ts";
import { encryptBlob, exportKey, generateKey } from "./format.ts";

/** Where an upload is. */
export interface UploadProgress {
  /** `encrypting` (local work, before any byte leaves) or `uploading`. */
  phase: "encrypting" | "uploading";
  /** Bytes done in this phase. */
  loaded: number;
  /** Bytes of this phase in all. */
  total: number;
}

/** Options of {@linkcode uploadFile}. */
export interface UploadOptions {
  /** Origin of the Switchboard server, e.g. `https://sb.example`. Default: the page's own. */
  baseUrl?: string;
  /** Encrypt in the browser; the key goes only into the link's `#k=` fragment. Default true. */
  encrypt?: boolean;
  /**
   * Encrypt with this extractable AES-256-GCM key instead of a fresh one (a
   * live transfer's relay fallback derives it from the pages' pairing, so the
   * link it sends needs no key). Default: a fresh random key.
   */
  key?: CryptoKey;
  /** File name to use; default `file.name` (or `upload.bin`). */
  name?: string;
  /** Seconds until the link expires (server default when absent, at most 86400). */
  ttlSeconds?: number;
  /** Downloads allowed in all (no limit when absent). */
  maxDownloads?: number;
  /** The server's size cap, when known: bigger files fail at once with `file_too_large`. */
  maxBytes?: number;
  /** Progress of encryption and upload. */
  onProgress?: (progress: UploadProgress) => void;
  /** Cancels encryption or the upload; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Further attempts after a network error, 5xx or 429. Default 2. */
  retries?: number;
  /** Wait before the first retry, doubled each time. Default 500 ms. */
  retryDelayMs?: number;
}

/** A stored file and how to share and delete it. */
export interface UploadedFile {
  id: string;
  /** The link to share: the download page, with `#k=<key>` when encrypted. */
  url: string;
  /** The raw bytes (ciphertext when encrypted). */
  downloadUrl: string;
  /** ISO 8601 time the link expires. */
  expiresAt: string;
  /** Bytes stored on the server (ciphertext size when encrypted). */
  size: number;
  /** Deletes the file: `DELETE /api/download/:id` with `X-Delete-Token`. */
  deleteToken: string;
  encrypted: boolean;
  /** The base64url key (also in `url`), when encrypted. */
  key?: string;
}

interface Attempt {
  status: number;
  body: string;
}

function endpoint(baseUrl: string | undefined, path: string): string {
  return baseUrl ? new URL(path, baseUrl).href : path;
}

/** Sends the body with XMLHttpRequest (upload progress events) where it exists. */
function sendWithXhr(
  url: string,
  body: Blob,
  headers: Record<string, string>,
  onProgress: (loaded: number) => void,
  signal?: AbortSignal,
): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText });
    xhr.onerror = () => reject(new ApiClientError(0, "network_error", "The upload failed"));
    xhr.onabort = () => reject(abortError(signal));
    const abort = () => xhr.abort();
    signal?.addEventListener("abort", abort, { once: true });
    xhr.onloadend = () => signal?.removeEventListener("abort", abort);
    xhr.send(body);
  });
}

/** Sends the body with fetch (runtimes without XMLHttpRequest: no progress in between). */
async function sendWithFetch(
  url: string,
  body: Blob,
  headers: Record<string, string>,
  onProgress: (loaded: number) => void,
  signal?: AbortSignal,
): Promise<Attempt> {
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", body, headers, signal });
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    throw new ApiClientError(0, "network_error", "The upload failed", { cause: error });
  }
  const text = await response.text();
  onProgress(body.size);
  return { status: response.status, body: text };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(abortError(signal));
    }, { once: true });
  });
}

/**
 * Uploads a file for link mode and returns the link to share. With `encrypt`
 * (the default) the file, its name and type are sealed with a fresh AES-256-GCM
 * key first (format: `format.ts`); the server only ever sees ciphertext named
 * `encrypted.bin`, and the key travels only in the link's fragment.
 *
 * A request that fails on the network, with a 5xx or a 429, is sent again (the
 * whole file: the protocol has one request per file); other errors reject with
 * `ApiClientError` (of `lib/client`).
 *
 * @example
 * ```ts
 * const input = document.querySelector<HTMLInputElement>("input[type=file]")!;
 * const link = await uploadFile(input.files![0]!, {
 *   onProgress: ({ phase, loaded, total }) => console.log(phase, loaded / total),
 * });
 * console.log(link.url); // https://…/d/<id>#k=<key>
 * ```
 */
export async function uploadFile(file: Blob, options: UploadOptions = {}): Promise<UploadedFile> {
  const { signal } = options;
  const encrypt = options.encrypt ?? true;
  const name = options.name ?? (file as Partial<File>).name ?? "upload.bin";
  if (signal?.aborted) throw abortError(signal);
  if (options.maxBytes !== undefined && file.size > options.maxBytes) {
    throw new ApiClientError(
      413,
      "file_too_large",
      `File is larger than the limit of ${options.maxBytes} bytes`,
    );
  }

  let body: Blob = file;
  let key: string | undefined;
  const headers: Record<string, string> = {};
  if (encrypt) {
    const cryptoKey = options.key ?? await generateKey();
    key = encodeBase64Url(await exportKey(cryptoKey));
    body = await encryptBlob(file, cryptoKey, {
      metadata: {
        name,
        type: file.type || "application/octet-stream",
        ...((file as Partial<File>).lastModified
          ? { lastModified: (file as File).lastModified }
          : {}),
      },
      signal,
      onProgress: (loaded, total) => options.onProgress?.({ phase: "encrypting", loaded, total }),
    });
    headers["X-Filename"] = "encrypted.bin";
    headers["X-Encrypted"] = "1";
    headers["Content-Type"] = "application/octet-stream";
  } else {
    headers["X-Filename"] = encodeURIComponent(name);
    headers["Content-Type"] = file.type || "application/octet-stream";
  }

  const query = new URLSearchParams();
  if (options.ttlSeconds !== undefined) query.set("ttlSeconds", String(options.ttlSeconds));
  if (options.maxDownloads !== undefined) query.set("maxDownloads", String(options.maxDownloads));
  const url = endpoint(options.baseUrl, `/api/upload${query.size ? `?${query}` : ""}`);
  const send = typeof XMLHttpRequest === "function" ? sendWithXhr : sendWithFetch;
  const retries = options.retries ?? 2;
  const retryDelayMs = options.retryDelayMs ?? 500;

  for (let attempt = 0;; attempt++) {
    options.onProgress?.({ phase: "uploading", loaded: 0, total: body.size });
    let failure: ApiClientError;
    try {
      const answer = await send(
        url,
        body,
        headers,
        (loaded) => options.onProgress?.({ phase: "uploading", loaded, total: body.size }),
        signal,
      );
      if (answer.status === 201) {
        const stored = JSON.parse(answer.body) as Omit<UploadedFile, "key">;
        return {
          id: stored.id,
          url: key ? `${stored.url}#k=${key}` : stored.url,
          downloadUrl: stored.downloadUrl,
          expiresAt: stored.expiresAt,
          size: stored.size,
          deleteToken: stored.deleteToken,
          encrypted: encrypt,
          ...(key ? { key } : {}),
        };
      }
      failure = parseApiError(answer.status, answer.body);
    } catch (error) {
      if (!(error instanceof ApiClientError)) throw error;
      failure = error;
    }
    if (!failure.retryable || attempt >= retries) throw failure;
    await sleep(retryDelayMs * 2 ** attempt * (0.75 + Math.random() * 0.5), signal);
  }
}

/**
 * Deletes an uploaded file with its delete token.
 *
 * @example
 * ```ts
 * const link = await uploadFile(new Blob(["hello"]));
 * await deleteFile(link.id, link.deleteToken);
 * ```
 */
export async function deleteFile(
  id: string,
  deleteToken: string,
  options: { baseUrl?: string; signal?: AbortSignal } = {},
): Promise<void> {
  await apiFetch<unknown>(endpoint(options.baseUrl, `/api/download/${encodeURIComponent(id)}`), {
    method: "DELETE",
    headers: { "X-Delete-Token": deleteToken },
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
