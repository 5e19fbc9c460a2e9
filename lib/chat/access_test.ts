import assert from "node:assert/strict";
import { canOpenChannel, grantCovers, isChannelGrant } from "./access.ts";

Deno.test("grants are channel names or prefixes with *", () => {
  for (const grant of ["private:team", "private:team-*", "private:*", "*", "lobby"]) {
    assert.ok(isChannelGrant(grant), grant);
  }
  for (const grant of ["", "Private:x", "private:*x", "a*b", "**", "private:team/x", "-x"]) {
    assert.ok(!isChannelGrant(grant), grant);
  }
});

Deno.test("a grant covers its channel, a pattern covers the channels its prefix starts", () => {
  assert.ok(grantCovers("private:team", "private:team"));
  assert.ok(!grantCovers("private:team", "private:team-a"));
  assert.ok(grantCovers("private:team-*", "private:team-a"));
  assert.ok(!grantCovers("private:team-*", "private:team"));
  assert.ok(grantCovers("*", "private:anything"));
});

Deno.test("private channels open only with a grant, never for guests; public ones for anyone", () => {
  const prefix = "private:";
  const user = { kind: "user" as const, channels: ["private:team-*"] };
  assert.ok(canOpenChannel(user, "private:team-a", prefix));
  assert.ok(!canOpenChannel(user, "private:ops", prefix));
  assert.ok(!canOpenChannel({ kind: "user" }, "private:team-a", prefix));
  assert.ok(!canOpenChannel({ kind: "guest", channels: ["*"] }, "private:team-a", prefix));
  assert.ok(canOpenChannel({ kind: "guest" }, "lobby", prefix));
  assert.ok(canOpenChannel({ kind: "stream", channels: ["*"] }, "private:x", prefix));
  // An empty prefix makes no channel private.
  assert.ok(canOpenChannel({ kind: "guest" }, "private:x", ""));
});
