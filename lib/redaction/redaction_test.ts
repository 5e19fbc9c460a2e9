import assert from "node:assert/strict";
import { isSensitiveName, redact, redactQuery, redactText, SENSITIVE_NAMES } from "./mod.ts";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl";

Deno.test("isSensitiveName() matches the listed names and names containing them, in any spelling", () => {
  for (const name of [...SENSITIVE_NAMES, "TOKEN", "delete_token", "X-Api-Key", "clientSecret"]) {
    assert.ok(isSensitiveName(name), name);
  }
  for (const name of ["set-cookie", "Proxy-Authorization", "credentials", "access-token"]) {
    assert.ok(isSensitiveName(name), name);
  }
  for (const name of ["since", "limit", "code", "role", "ttlSeconds", "path", "offset"]) {
    assert.ok(!isSensitiveName(name), name);
  }
});

Deno.test("redactQuery() blanks every sensitive parameter, encoded names included, and keeps the rest", () => {
  assert.equal(redactQuery("?token=abc&since=4"), "token=REDACTED&since=4");
  assert.equal(
    redactQuery("deleteToken=dt_x&receiverToken=r&senderToken=s&access_token=a&api_key=k&key=k"),
    "deleteToken=REDACTED&receiverToken=REDACTED&senderToken=REDACTED&access_token=REDACTED" +
      "&api_key=REDACTED&key=REDACTED",
  );
  assert.equal(redactQuery("%74oken=abc&token=def&token=ghi"), "token=REDACTED");
  assert.equal(redactQuery(`next=${JWT}`), "next=REDACTED");
  assert.equal(redactQuery(""), "");
  assert.equal(redactQuery("limit=5&before=k2-3"), "limit=5&before=k2-3");
});

Deno.test("redactText() masks token-shaped values and sensitive name=value pairs in free text", () => {
  const text = redactText(
    `GET /x?token=abc&deleteToken=dt_0123456789abcdefghij&since=3 bearer ${JWT} ` +
      "key sb_0123456789abcdef0123 sender ts_0123456789abcdefghijkl",
  );
  for (const secret of ["abc", "dt_0123", JWT, "sb_0123", "ts_0123"]) {
    assert.ok(!text.includes(secret), `${secret} in ${text}`);
  }
  assert.match(text, /since=3/);
});

Deno.test("redact() blanks sensitive fields at any depth and masks strings and errors", () => {
  const cleaned = redact({
    deleteToken: "x",
    nested: { receiverToken: "y", list: [{ senderToken: "z" }, `url ?token=${JWT}`] },
    error: new Error(`bad token ${JWT}`),
    count: 3,
  });
  const text = JSON.stringify(cleaned);
  assert.ok(!/"[xyz]"/.test(text), text);
  assert.ok(!text.includes(JWT));
  assert.match(text, /"count":3/);
});
