import assert from "node:assert/strict";
import { HOST_ENTRY_PATTERN, isLoopbackHost, trustedOrigin } from "./mod.ts";

Deno.test("trustedOrigin() takes PUBLIC_URL over any host", () => {
  assert.equal(
    trustedOrigin("http://evil.example/api/upload", { publicUrl: "https://sb.example/" }),
    "https://sb.example",
  );
});

Deno.test("trustedOrigin() lends a request its own origin only on loopback and listed hosts", () => {
  const policy = { publicHosts: ["files.example.test", "lan.example.test:8000"] };
  const origin = (url: string) => trustedOrigin(url, policy);
  assert.equal(origin("http://localhost:8000/x"), "http://localhost:8000");
  assert.equal(origin("http://app.localhost/x"), "http://app.localhost");
  assert.equal(origin("http://127.0.0.1:9000/x"), "http://127.0.0.1:9000");
  assert.equal(origin("http://[::1]:8000/x"), "http://[::1]:8000");
  assert.equal(origin("https://FILES.example.test:8443/x"), "https://files.example.test:8443");
  assert.equal(origin("http://lan.example.test:8000/x"), "http://lan.example.test:8000");
  assert.equal(origin("http://lan.example.test:9000/x"), null, "another port than the listed one");
  assert.equal(origin("http://evil.example/x"), null);
  assert.equal(origin("http://localhost.evil.example/x"), null);
  assert.equal(origin("http://127.0.0.1.evil.example/x"), null);
  assert.equal(origin("http://192.168.1.20:8000/x"), null, "a LAN address must be listed");
  assert.equal(origin("not a url"), null);
});

Deno.test("isLoopbackHost() and HOST_ENTRY_PATTERN", () => {
  assert.ok(isLoopbackHost("LOCALHOST."));
  assert.ok(!isLoopbackHost("0.0.0.0"));
  for (const entry of ["sb.example", "192.168.1.20:8000", "[fd00::1]:8443", "localhost"]) {
    assert.match(entry, HOST_ENTRY_PATTERN);
  }
  for (const entry of ["https://sb.example", "sb.example/", "*.example", "a b", "sb.example:"]) {
    assert.doesNotMatch(entry, HOST_ENTRY_PATTERN);
  }
});
