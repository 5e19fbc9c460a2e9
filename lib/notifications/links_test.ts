import assert from "node:assert/strict";
import { safeLink } from "./examples.ts";
import { safeLinkTarget } from "./links.ts";
import { NotificationTypes } from "./types.ts";

const PAGE = "https://app.example";

/** Off-site or non-http(s) once a browser resolves them on PAGE. */
const UNSAFE = [
  // backslashes count as slashes in http(s) URLs
  "/\\evil.example/login",
  "\\\\evil.example/login",
  "\\/evil.example",
  "/\\/evil.example",
  // protocol-relative
  "//evil.example/x",
  "///evil.example/x",
  // tabs, newlines, spaces and control characters are dropped or trimmed by the parser
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r\n/evil.example",
  "\t//evil.example",
  " //evil.example",
  "java\tscript:alert(1)",
  "java\nscript:alert(1)",
  " javascript:alert(1)",
  "\u0000javascript:alert(1)",
  "javascript:alert(1)\u0000",
  // other schemes, in any letter case
  "javascript:alert(1)",
  "JaVaScRiPt:alert(1)",
  "javascript://app.example/%0Aalert(1)",
  "data:text/html,<script>alert(1)</script>",
  "DATA:text/html;base64,PHNjcmlwdD4=",
  "vbscript:msgbox(1)",
  "blob:https://app.example/1b4e28ba",
  "file:///etc/passwd",
  "ftp://example.com/x",
  "mailto:a@example.com",
  // a scheme that differs from the page's makes "https:host" absolute and off-site
  "http:evil.example",
  "http:/\\evil.example",
];

/** Stay on PAGE (or are plain http(s) URLs) however they are encoded. */
const SAFE = [
  "/d/abc",
  "/d/abc?x=1#top",
  "d/abc",
  "?page=2",
  "#section",
  "/%2F%2Fevil.example",
  "/%5Cevil.example",
  "%2F%2Fevil.example",
  "%5C%5Cevil.example",
  "javascript%3Aalert(1)",
  "/javascript:alert(1)",
  "./javascript:alert(1)",
  "https:evil.example", // same scheme as the page: a relative path on it
  "https://docs.example/guide",
  "HTTP://localhost:8000/d/1",
];

Deno.test("safeLinkTarget() refuses links that leave the page or are not http(s)", () => {
  for (const link of UNSAFE) {
    assert.equal(safeLinkTarget(link, PAGE), null, JSON.stringify(link));
    assert.equal(safeLink({ link }, PAGE), null, `the bell refuses ${JSON.stringify(link)}`);
  }
});

Deno.test("safeLinkTarget() keeps http(s) URLs and relative links that resolve to the page's origin", () => {
  for (const link of SAFE) {
    const kept = safeLinkTarget(link, PAGE);
    assert.equal(kept, link, JSON.stringify(link));
    const resolved = new URL(kept!, PAGE);
    assert.ok(/^https?:$/.test(resolved.protocol), link);
    if (!/^https?:\/\//i.test(link)) assert.equal(resolved.origin, PAGE, link);
  }
});

Deno.test("safeLinkTarget() resolves against the origin it is given, and fails closed without one", () => {
  // On an http page, "https:host" is an absolute URL to another site.
  assert.equal(safeLinkTarget("https:evil.example", "http://localhost:8000"), null);
  assert.equal(safeLinkTarget("/d/1", "http://localhost:8000/notifications?x=1"), "/d/1");
  assert.equal(safeLinkTarget("/d/1", "not a url"), null);
  assert.equal(safeLinkTarget(42, PAGE), null);
  assert.equal(safeLinkTarget("", PAGE), null);
  assert.equal(safeLinkTarget(`/${"a".repeat(2048)}`, PAGE), null);
});

Deno.test("publishing refuses the same links the bell refuses", () => {
  const types = new NotificationTypes();
  for (const link of UNSAFE.filter((link) => safeLinkTarget(link) === null)) {
    assert.equal(types.check("success", { message: "m", link }).ok, false, JSON.stringify(link));
  }
  for (const link of ["/\\evil.example/login", "/\t/evil.example", "JaVaScRiPt:alert(1)"]) {
    assert.equal(types.check("success", { message: "m", link }).ok, false, JSON.stringify(link));
  }
  assert.equal(types.check("success", { message: "m", link: "/d/abc" }).ok, true);
});
