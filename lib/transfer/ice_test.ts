import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { hmacTurnCredentials, IceServerProvider, type IceSettings, turnSource } from "./ice.ts";

const BASE: IceSettings = {
  stunUrls: ["stun:stun.example.test:3478"],
  turnUrls: [],
  ttlSeconds: 600,
  turnServiceUrl: "http://127.0.0.1:1",
};

Deno.test("hmacTurnCredentials() follows coturn's use-auth-secret scheme", async () => {
  const now = Date.UTC(2030, 0, 1);
  const { username, credential, expiresAt } = await hmacTurnCredentials("s3cret", {
    user: "alice",
    ttlSeconds: 3600,
    now,
  });
  assert.equal(username, `${now / 1000 + 3600}:alice`);
  assert.equal(expiresAt, now + 3600_000);
  assert.equal(credential, createHmac("sha1", "s3cret").update(username).digest("base64"));
});

Deno.test("turnSource() picks the service, then HMAC, then static, else none", () => {
  assert.equal(turnSource(BASE), "none");
  const urls = { turnUrls: ["turn:turn.example.test:3478"] };
  assert.equal(turnSource({ ...BASE, ...urls, turnUsername: "u" }), "none");
  assert.equal(turnSource({ ...BASE, ...urls, turnUsername: "u", turnCredential: "c" }), "static");
  assert.equal(turnSource({ ...BASE, ...urls, turnSecret: "s", turnUsername: "u" }), "hmac");
  assert.equal(
    turnSource({ ...BASE, ...urls, turnSecret: "s", turnServiceId: "id", turnServiceToken: "t" }),
    "service",
  );
});

Deno.test("IceServerProvider answers STUN only, static TURN and fresh HMAC credentials", async () => {
  assert.deepEqual(await new IceServerProvider(BASE).get(), {
    iceServers: [{ urls: ["stun:stun.example.test:3478"] }],
    ttlSeconds: 600,
  });
  assert.deepEqual((await new IceServerProvider({ ...BASE, stunUrls: [] }).get()).iceServers, []);
  const turnUrls = ["turn:turn.example.test:3478?transport=udp"];
  const fixed = await new IceServerProvider({
    ...BASE,
    turnUrls,
    turnUsername: "user",
    turnCredential: "pass",
  }).get();
  assert.deepEqual(fixed.iceServers[1], { urls: turnUrls, username: "user", credential: "pass" });
  const provider = new IceServerProvider({ ...BASE, turnUrls, turnSecret: "s3cret" });
  const [a, b] = [await provider.get(), await provider.get()];
  const serverA = a.iceServers[1]!;
  assert.match(serverA.username!, /^\d{10}:[0-9a-f]{12}$/);
  assert.notEqual(serverA.username, b.iceServers[1]!.username, "one user name per request");
  assert.equal(
    serverA.credential,
    createHmac("sha1", "s3cret").update(serverA.username!).digest("base64"),
  );
});

Deno.test("IceServerProvider caches service credentials for half their life and survives failures", async () => {
  let requests = 0;
  let failing = false;
  // A local stand-in for the TURN service (the real one is not reachable from tests).
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    requests += 1;
    if (failing) return new Response("down", { status: 502 });
    return Response.json({
      iceServers: {
        urls: ["turn:turn.example.test:3478"],
        username: `u${requests}`,
        credential: "c",
      },
    }, { status: 201 });
  });
  const clock = { now: Date.UTC(2030, 0, 1) };
  const errors: unknown[] = [];
  const provider = new IceServerProvider({
    ...BASE,
    turnServiceId: "key",
    turnServiceToken: "token",
    turnServiceUrl: `http://127.0.0.1:${server.addr.port}`,
  }, { now: () => clock.now, onServiceError: (error) => errors.push(error) });
  const answers = await Promise.all([provider.get(), provider.get(), provider.get()]);
  assert.equal(requests, 1, "concurrent callers share one request");
  assert.equal(answers[0]!.iceServers[1]!.username, "u1");
  assert.equal(answers[0]!.ttlSeconds, 600);
  clock.now += 299_000;
  assert.equal((await provider.get()).ttlSeconds, 301);
  assert.equal(requests, 1);
  clock.now += 1_000;
  assert.equal((await provider.get()).iceServers[1]!.username, "u2", "renewed at half life");
  failing = true;
  clock.now += 300_000;
  const degraded = await provider.get();
  assert.equal(errors.length, 1);
  assert.equal(degraded.iceServers[1]!.username, "u2", "still-valid credentials are kept");
  assert.equal(requests, 3);
  clock.now += 5_000;
  await provider.get();
  assert.equal(requests, 3, "a failure is not retried within 10 s");
  clock.now += 245_000;
  const stunOnly = await provider.get();
  assert.equal(requests, 4);
  assert.deepEqual(stunOnly.iceServers, [{ urls: ["stun:stun.example.test:3478"] }]);
  assert.equal(stunOnly.ttlSeconds, 60);
});
