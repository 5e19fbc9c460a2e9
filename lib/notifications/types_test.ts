import assert from "node:assert/strict";
import { NOTIFICATION_EXAMPLES, safeLink } from "./examples.ts";
import { NOTIFICATION_TYPES, NotificationTypes } from "./types.ts";

Deno.test("every built-in type has an example, and every example fits its schema", () => {
  const types = new NotificationTypes();
  assert.deepEqual(
    Object.keys(NOTIFICATION_EXAMPLES).sort(),
    Object.keys(NOTIFICATION_TYPES).sort(),
  );
  for (const [type, data] of Object.entries(NOTIFICATION_EXAMPLES)) {
    const result = types.check(type, data);
    assert.equal(result.ok, true, `${type}: ${JSON.stringify(result)}`);
  }
});

Deno.test("the registry has every built-in type docs/notifications.md lists", () => {
  const names = new NotificationTypes().names;
  for (
    const type of [
      "group.invitation.received",
      "group.invitation.accepted",
      "group.member.joined",
      "group.member.removed",
      "group.admin.granted",
      "group.admin.revoked",
      "group.join_request.created",
      "group.join_request.approved",
      "group.join_request.rejected",
      "shards_generated",
      "file_uploaded",
      "campaign_created",
      "success",
      "error",
      "message",
    ]
  ) assert.ok(names.includes(type), type);
});

Deno.test("check() names an unknown type and lists the zod issues of bad data", () => {
  const types = new NotificationTypes();
  const unknown = types.check("party.started", {});
  assert.equal(unknown.ok, false);
  assert.equal(!unknown.ok && unknown.code, "unknown_type");
  assert.match(!unknown.ok ? unknown.message : "", /file_uploaded/);

  const bad = types.check("file_uploaded", { fileId: "f1", size: -1, extra: true });
  assert.equal(bad.ok, false);
  if (bad.ok) return;
  assert.equal(bad.code, "invalid_data");
  const paths = bad.issues.map((issue) => issue.path);
  assert.ok(paths.includes("data.fileName"), JSON.stringify(paths));
  assert.ok(paths.includes("data.size"), JSON.stringify(paths));
  assert.ok(bad.issues.some((issue) => /extra/.test(issue.message)), "unknown keys are refused");
});

Deno.test("links must be http(s) URLs or site paths, never javascript: or protocol-relative", () => {
  const types = new NotificationTypes();
  for (const link of ["https://example.com/x", "http://localhost:8000/d/1", "/d/abc?x=1"]) {
    assert.equal(types.check("success", { message: "m", link }).ok, true, link);
  }
  for (const link of ["javascript:alert(1)", "//evil.example/x", "data:text/html,hi", "ftp://x"]) {
    assert.equal(types.check("success", { message: "m", link }).ok, false, link);
    assert.equal(safeLink({ link }), null, `the bell refuses ${link} too`);
  }
  assert.equal(safeLink({ link: "/d/abc" }), "/d/abc");
});

Deno.test("types named by configuration take any JSON object; bad or reserved names are refused", () => {
  const types = new NotificationTypes(["deploy.finished", "billing_alert"]);
  assert.equal(types.check("deploy.finished", { env: "prod", ok: true }).ok, true);
  assert.equal(types.check("billing_alert", "not an object").ok, false);
  assert.ok(types.names.includes("billing_alert"));
  assert.throws(() => new NotificationTypes(["Bad Name"]), /Cannot register/);
  assert.throws(() => new NotificationTypes(["notification.read"]), /Cannot register/);
});
