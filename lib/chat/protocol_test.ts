import assert from "node:assert/strict";
import { checkContent, isChannelId, MAX_MESSAGE_LENGTH } from "./protocol.ts";

Deno.test("checkContent() trims, keeps newlines and tabs, and turns CRLF into LF", () => {
  assert.deepEqual(checkContent("  hello\r\nworld\t!  \n"), {
    ok: true,
    content: "hello\nworld\t!",
  });
});

Deno.test("checkContent() refuses empty, too long and control characters with their codes", () => {
  const code = (raw: string) => {
    const result = checkContent(raw);
    return result.ok ? "ok" : result.code;
  };
  assert.equal(code(""), "empty_message");
  assert.equal(code(" \n\t "), "empty_message");
  assert.equal(code("x".repeat(MAX_MESSAGE_LENGTH)), "ok");
  assert.equal(code("x".repeat(MAX_MESSAGE_LENGTH + 1)), "message_too_long");
  // Characters are code points: 4000 emoji (8000 UTF-16 units) still fit.
  assert.equal(code("😀".repeat(MAX_MESSAGE_LENGTH)), "ok");
  assert.equal(code("bell\u0007"), "invalid_characters");
  assert.equal(code("a\u0000b"), "invalid_characters");
  assert.equal(code("a\rb"), "invalid_characters");
  assert.equal(code("esc\u001b[31m"), "invalid_characters");
  assert.equal(code("c1\u0085"), "invalid_characters");
  assert.equal(code("<img src=x onerror=alert(1)>"), "ok", "HTML is text, not an error");
});

Deno.test("isChannelId() accepts lowercase names with an optional namespace, nothing else", () => {
  for (
    const good of ["lobby", "a", "team-42", "x_y", "0abc", "a".repeat(64), "private:team", "a:b"]
  ) {
    assert.ok(isChannelId(good), good);
  }
  for (
    const bad of [
      "",
      "Lobby",
      "-lead",
      "_lead",
      "a b",
      "a/b",
      "é",
      "a".repeat(65),
      "a:b:c",
      ":b",
      "a:",
      `${"n".repeat(33)}:b`,
    ]
  ) {
    assert.ok(!isChannelId(bad), bad);
  }
});
