/**
 * @module
 * Text encodings shared by the server and the browser: UTF-8 sizes of strings
 * (without encoding them when their length tells) and base64url.
 */
export { exceedsUtf8Bytes, utf8Bytes } from "./utf8.ts";
export { decodeBase64Url, encodeBase64Url } from "./base64url.ts";
