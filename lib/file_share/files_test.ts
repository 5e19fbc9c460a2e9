import assert from "node:assert/strict";
import {
  fallbackLinkUrl,
  isSnippet,
  parseFallbackLink,
  parseRelayTail,
  safeFileName,
  safeFileType,
  SNIPPET_TYPE,
  snippetFile,
} from "./files.ts";

const KEY = "A".repeat(43);

Deno.test("fallback links carry the file's place in the transfer and no key", () => {
  const paired = fallbackLinkUrl(`https://sb.example/d/abc_DEF-123#k=${KEY}`, 1, 3);
  assert.equal(paired, "https://sb.example/d/abc_DEF-123#f=1&n=3");
  assert.deepEqual(parseFallbackLink(paired), {
    id: "abc_DEF-123",
    key: null,
    index: 1,
    count: 3,
    tail: null,
  });
});

Deno.test("a fallback link of a file's end carries its sealed details; only well-formed ones open", () => {
  const url = fallbackLinkUrl(`https://sb.example/d/abc#k=${KEY}`, 0, 1, { tail: "c2VhbGVk_-" });
  assert.equal(url, "https://sb.example/d/abc#f=0&n=1&t=c2VhbGVk_-");
  assert.equal(parseFallbackLink(url)?.tail, "c2VhbGVk_-");
  assert.equal(parseFallbackLink("https://sb.example/d/abc#f=0&n=1&t=not%20sealed"), null);
  const sha256 = "a".repeat(64);
  assert.deepEqual(parseRelayTail({ offset: 5, size: 9, sha256 }), { offset: 5, size: 9, sha256 });
  assert.equal(parseRelayTail({ offset: 10, size: 9, sha256 }), null, "past the end");
  assert.equal(parseRelayTail({ offset: -1, size: 9, sha256 }), null);
  assert.equal(parseRelayTail({ offset: 1, size: 9, sha256: "A".repeat(64) }), null);
  assert.equal(parseRelayTail(null), null);
});

Deno.test("fallback links with a key (an older sender page) still work", () => {
  const url = fallbackLinkUrl(`https://sb.example/d/abc_DEF-123#k=${KEY}`, 1, 3, {
    keepKey: true,
  });
  assert.equal(url, `https://sb.example/d/abc_DEF-123#k=${KEY}&f=1&n=3`);
  assert.deepEqual(parseFallbackLink(url), {
    id: "abc_DEF-123",
    key: KEY,
    index: 1,
    count: 3,
    tail: null,
  });
});

Deno.test("parseFallbackLink() refuses links this page cannot use", () => {
  for (
    const url of [
      "not a url",
      `https://sb.example/x/abc#k=${KEY}&f=0&n=1`,
      `https://sb.example/d/abc#k=short&f=0&n=1`,
      `https://sb.example/d/abc#k=${KEY}&f=2&n=2`,
      `https://sb.example/d/abc#k=${KEY}&f=-1&n=2`,
      `https://sb.example/d/abc#k=${KEY}&f=0&n=1000`,
      `https://sb.example/d/abc#k=${KEY}`,
    ]
  ) {
    assert.equal(parseFallbackLink(url), null, url);
  }
});

Deno.test("the text snippet travels as a small file marked by its media type", async () => {
  const file = snippetFile("héllo");
  assert.equal(file.type, SNIPPET_TYPE);
  assert.equal(await file.text(), "héllo");
  assert.ok(isSnippet(file.type));
  assert.ok(isSnippet("text/plain; x-switchboard=snippet"));
  assert.ok(!isSnippet("text/plain;charset=utf-8"));
  assert.ok(!isSnippet("text/plain;x-switchboard=snippets"));
});

Deno.test("safeFileName() and safeFileType() make names the session's file list accepts", () => {
  assert.equal(safeFileName(" report\n.pdf "), "report.pdf");
  assert.equal(safeFileName("\u0000\u0007"), "file");
  const long = safeFileName(`${"x".repeat(300)}.tar.gz`);
  assert.equal(long.length, 255);
  assert.ok(long.endsWith(".gz"));
  assert.equal(safeFileType("image/png"), "image/png");
  assert.equal(safeFileType("a".repeat(200)), "");
  assert.equal(safeFileType("text/plain\n"), "");
});
