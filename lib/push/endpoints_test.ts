import assert from "node:assert/strict";
import { pushEndpointProblem } from "./endpoints.ts";

Deno.test("pushEndpointProblem() allows the browsers' push services over https only", () => {
  for (
    const endpoint of [
      "https://fcm.googleapis.com/fcm/send/abc:def",
      "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
      "https://wns2-par02p.notify.windows.com/w/?token=abc",
      "https://web.push.apple.com/QGuQyavXutnMH",
    ]
  ) assert.equal(pushEndpointProblem(endpoint), null, endpoint);
  for (
    const endpoint of [
      "http://fcm.googleapis.com/fcm/send/abc",
      "https://fcm.googleapis.com:8443/fcm/send/abc",
      "https://user:pass@fcm.googleapis.com/fcm/send/abc",
      "https://push.apple.com/x",
      "https://evilpush.apple.com.example/x",
      "https://169.254.169.254/latest/meta-data",
      "https://127.0.0.1:8000/api/notifications/publish",
      "https://localhost/x",
      "not a url",
    ]
  ) assert.ok(pushEndpointProblem(endpoint), endpoint);
});

Deno.test("pushEndpointProblem() takes extra hosts as name, name:port or *.suffix", () => {
  const extra = ["push.example", "127.0.0.1:9443", "*.relay.example"];
  assert.equal(pushEndpointProblem("https://push.example/a", extra), null);
  assert.equal(pushEndpointProblem("https://127.0.0.1:9443/a", extra), null);
  assert.equal(pushEndpointProblem("https://eu.relay.example/a", extra), null);
  assert.ok(pushEndpointProblem("https://127.0.0.1:9444/a", extra));
  assert.ok(pushEndpointProblem("https://push.example:444/a", extra));
  assert.ok(pushEndpointProblem("https://relay.example/a", extra), "*.suffix is subdomains only");
  assert.match(
    pushEndpointProblem("https://10.0.0.5/a", extra) ?? "",
    /"10\.0\.0\.5" is not a known push service/,
  );
});
