/**
 * @module
 * The browser-side client of link mode: upload a file (encrypted in the browser
 * by default, with progress, cancel and retries) and download it again
 * (decrypted and verified record by record). Runs in browsers and in Deno; uses
 * only web APIs (fetch, XMLHttpRequest where present, WebCrypto, Blob, streams).
 *
 * @example
 * ```ts
 * import { downloadFile, parseShareUrl, uploadFile } from "./mod.ts";
 *
 * const file = new File(["hello"], "hello.txt", { type: "text/plain" });
 * const link = await uploadFile(file, { onProgress: console.log });
 * const { id, key } = parseShareUrl(link.url);
 * const copy = await downloadFile(id, key ? { key } : {});
 * ```
 */
export {
  deleteFile,
  type UploadedFile,
  uploadFile,
  type UploadOptions,
  type UploadProgress,
} from "./upload.ts";
export {
  type DownloadedFile,
  downloadFile,
  type DownloadOptions,
  type FileInfo,
  getFileInfo,
  importLinkKey,
  parseShareUrl,
} from "./download.ts";
export {
  createDecryptStream,
  decryptMetadata,
  DEFAULT_RECORD_SIZE,
  encryptBlob,
  type EncryptedMetadata,
  encryptedSize,
  exportKey,
  generateKey,
  HEADER_BYTES,
  importKey,
  MAX_HEADER_AND_METADATA_BYTES,
  TAG_BYTES,
} from "./format.ts";
export { DecryptionError, LinkClientError } from "./errors.ts";
export { decodeBase64Url, encodeBase64Url } from "../text/mod.ts";
export { formatBytes, formatDuration, formatTimeLeft } from "./display.ts";
