import assert from "node:assert/strict";
import { ApiError, ERROR_CODES } from "./mod.ts";
import { TransferError } from "../transfer/mod.ts";
import { NotificationError } from "../notifications/mod.ts";
import { AuthError } from "../identity/mod.ts";
import { PublishError } from "../realtime/mod.ts";
import { PushError } from "../push/mod.ts";

Deno.test("every registered code has an HTTP error status and a description", () => {
  for (const [code, entry] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^[a-z]+(_[a-z]+)*$/, code);
    assert.ok(entry.status >= 400 && entry.status < 600, `${code}: ${entry.status}`);
    assert.ok(entry.description.length > 10, code);
  }
});

Deno.test("domain errors are ApiErrors whose status comes from the registry", () => {
  const errors = [
    new TransferError("session_already_joined", "taken"),
    new NotificationError("invalid_data", "bad", { issues: [{ path: "a", message: "b" }] }),
    new AuthError("token_revoked", "revoked"),
    new PublishError("quota_exceeded", "full"),
    new PushError("push_subscription_not_found", "gone"),
  ];
  for (const error of errors) {
    assert.ok(error instanceof ApiError, error.name);
    assert.equal(error.status, ERROR_CODES[error.code].status, error.code);
  }
  assert.deepEqual(errors[1]!.toJSON(), {
    error: { code: "invalid_data", message: "bad", issues: [{ path: "a", message: "b" }] },
  });
  assert.deepEqual(errors[0]!.toJSON(), {
    error: { code: "session_already_joined", message: "taken" },
  });
});
