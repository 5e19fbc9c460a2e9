import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "./mod.ts";

Deno.test("loadConfig() applies defaults and treats empty strings as unset", () => {
  const config = loadConfig({ PORT: "", KV_PATH: ":memory:" });
  assert.equal(config.PORT, 8000);
  assert.equal(config.KV_PATH, ":memory:");
  assert.equal(config.MAX_UPLOAD_BYTES, 100 * 1024 * 1024);
  assert.deepEqual(loadConfig({ TURN_URLS: "turn:a:3478, turn:b:3478" }).TURN_URLS, [
    "turn:a:3478",
    "turn:b:3478",
  ]);
});

Deno.test("loadConfig() names the variable that is wrong", () => {
  assert.throws(() => loadConfig({ BROADCAST_CHANNEL: "maybe" }), (error: Error) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /^Invalid configuration: BROADCAST_CHANNEL="maybe"/);
    return true;
  });
  assert.throws(() => loadConfig({ SSE_HEARTBEAT_SECONDS: "30" }), /SSE_HEARTBEAT_SECONDS/);
});

Deno.test("loadConfig() reads PUBLIC_HOSTS as a list of hosts and refuses URLs in it", () => {
  assert.deepEqual(loadConfig({}).PUBLIC_HOSTS, []);
  assert.deepEqual(loadConfig({ PUBLIC_HOSTS: "sb.example, 192.168.1.20:8000" }).PUBLIC_HOSTS, [
    "sb.example",
    "192.168.1.20:8000",
  ]);
  assert.throws(() => loadConfig({ PUBLIC_HOSTS: "https://sb.example" }), /PUBLIC_HOSTS=.*host/);
});

Deno.test("loadConfig() reads the Web Push settings and refuses a half or malformed VAPID key", () => {
  const defaults = loadConfig({});
  assert.equal(defaults.PUSH_DELAY_SECONDS, 10);
  assert.deepEqual(defaults.PUSH_ENDPOINT_HOSTS, []);
  assert.deepEqual(
    loadConfig({ PUSH_ENDPOINT_HOSTS: "push.example, *.push.example, localhost:9443" })
      .PUSH_ENDPOINT_HOSTS,
    ["push.example", "*.push.example", "localhost:9443"],
  );
  assert.throws(() => loadConfig({ PUSH_ENDPOINT_HOSTS: "https://push.example" }), /HOSTS/);
  assert.throws(() => loadConfig({ VAPID_PUBLIC_KEY: "short" }), /VAPID_PUBLIC_KEY/);
  assert.throws(() => loadConfig({ VAPID_SUBJECT: "admin@example.com" }), /VAPID_SUBJECT/);
  assert.equal(
    loadConfig({ VAPID_SUBJECT: "mailto:ops@example.com" }).VAPID_SUBJECT,
    "mailto:ops@example.com",
  );
});
