import assert from "node:assert/strict";
import { CLOSE_CODES } from "./close_codes.ts";
import { refusalCloseCode } from "./refusal.ts";

Deno.test("refusalCloseCode() is 4000 + the HTTP status, landing on the named close codes", () => {
  assert.equal(refusalCloseCode(400), CLOSE_CODES.badRequest);
  assert.equal(refusalCloseCode(401), CLOSE_CODES.unauthorized);
  assert.equal(refusalCloseCode(403), CLOSE_CODES.forbidden);
  assert.equal(refusalCloseCode(404), CLOSE_CODES.notFound);
  assert.equal(refusalCloseCode(409), CLOSE_CODES.conflict);
  assert.equal(refusalCloseCode(410), CLOSE_CODES.gone);
  assert.equal(refusalCloseCode(429), CLOSE_CODES.tooManyConnections);
  assert.equal(refusalCloseCode(503), CLOSE_CODES.unavailable);
  assert.equal(refusalCloseCode(200), CLOSE_CODES.internalError, "not a refusal status");
});
