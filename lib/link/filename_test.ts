import assert from "node:assert/strict";
import {
  asciiFallbackFilename,
  contentDisposition,
  decodeFilenameHeader,
  normalizeMediaType,
  sanitizeFilename,
  servedContentType,
} from "./filename.ts";
import { InvalidFilenameError } from "./errors.ts";

/** A header value is safe when it is printable ASCII with no line breaks. */
function assertSafeHeaderValue(value: string): void {
  assert.match(value, /^[\x20-\x7e]+$/);
}

Deno.test("sanitizeFilename() removes path separators and leading dots", () => {
  assert.equal(sanitizeFilename("../../etc/passwd"), "_.._etc_passwd");
  assert.equal(sanitizeFilename("..\\..\\boot.ini"), "_.._boot.ini");
  assert.equal(sanitizeFilename(".bashrc"), "bashrc");
  assert.equal(sanitizeFilename("/"), "_");
});

Deno.test("sanitizeFilename() turns control characters into spaces", () => {
  assert.equal(sanitizeFilename('a"\r\nSet-Cookie: x'), 'a" Set-Cookie: x');
  assert.equal(sanitizeFilename("tab\there\u0000.txt"), "tab here .txt");
});

Deno.test("sanitizeFilename() keeps emoji and non-Latin text", () => {
  assert.equal(sanitizeFilename("📦 report 🚀.pdf"), "📦 report 🚀.pdf");
  assert.equal(sanitizeFilename("отчёт.txt"), "отчёт.txt");
});

Deno.test("sanitizeFilename() drops bidirectional overrides", () => {
  assert.equal(sanitizeFilename("invoice\u202Egpj.exe"), "invoicegpj.exe");
});

Deno.test("sanitizeFilename() cuts long names to 255 UTF-8 bytes and keeps the extension", () => {
  const name = sanitizeFilename(`${"a".repeat(300)}.txt`);
  assert.equal(new TextEncoder().encode(name).byteLength, 255);
  assert.ok(name.endsWith(".txt"));
  const emoji = sanitizeFilename(`${"😀".repeat(300)}.bin`);
  assert.ok(new TextEncoder().encode(emoji).byteLength <= 255);
  assert.ok(emoji.endsWith("😀.bin"), "no character is split");
});

Deno.test("sanitizeFilename() refuses names with nothing usable", () => {
  assert.throws(() => sanitizeFilename(""), InvalidFilenameError);
  assert.throws(() => sanitizeFilename(" .. "), InvalidFilenameError);
  assert.throws(() => sanitizeFilename("x".repeat(5000)), InvalidFilenameError);
});

Deno.test("decodeFilenameHeader() reads percent-encoding and raw UTF-8 bytes", () => {
  assert.equal(decodeFilenameHeader(encodeURIComponent("résumé 😀.pdf")), "résumé 😀.pdf");
  const latin1 = String.fromCharCode(...new TextEncoder().encode("résumé.pdf"));
  assert.equal(decodeFilenameHeader(latin1), "résumé.pdf");
  assert.equal(decodeFilenameHeader("100%.txt"), "100%.txt");
  assert.equal(decodeFilenameHeader("plain.txt"), "plain.txt");
});

Deno.test("contentDisposition() is printable ASCII for any name and round-trips filename*", () => {
  const names = [
    'a" Set-Cookie: x',
    "_.._etc_passwd",
    "📦 report 🚀.pdf",
    "résumé (final) 'v2'*.pdf",
    "back\\slash; filename=evil.exe",
    "100%.txt",
  ];
  for (const name of names) {
    const value = contentDisposition(name);
    assertSafeHeaderValue(value);
    const match =
      /^attachment; filename="([^"\\]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$/
        .exec(value);
    assert.ok(match, `well-formed: ${value}`);
    assert.equal(decodeURIComponent(match[2]!), name);
  }
});

Deno.test("asciiFallbackFilename() strips accents and replaces what old clients misread", () => {
  assert.equal(asciiFallbackFilename("résumé.pdf"), "resume.pdf");
  assert.equal(asciiFallbackFilename('say "hi".txt'), "say _hi_.txt");
  assert.equal(asciiFallbackFilename("😀.txt"), "_.txt");
  assert.equal(asciiFallbackFilename("..."), "download");
});

Deno.test("servedContentType() serves only types that cannot run script", () => {
  assert.equal(servedContentType("image/png"), "image/png");
  assert.equal(servedContentType("text/plain"), "text/plain; charset=utf-8");
  assert.equal(servedContentType("text/html"), "application/octet-stream");
  assert.equal(servedContentType("image/svg+xml"), "application/octet-stream");
  assert.equal(servedContentType("application/javascript"), "application/octet-stream");
});

Deno.test("normalizeMediaType() keeps type/subtype and rejects junk", () => {
  assert.equal(normalizeMediaType("Text/Plain; charset=utf-8"), "text/plain");
  assert.equal(normalizeMediaType("nonsense"), "application/octet-stream");
  assert.equal(normalizeMediaType(null), "application/octet-stream");
  assert.equal(normalizeMediaType("a/b\r\nx: y"), "application/octet-stream");
});
