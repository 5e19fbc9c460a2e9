import assert from "node:assert/strict";
import { buildOpenApi } from "../lib/api_docs/mod.ts";
import { loadConfig } from "../lib/config/mod.ts";
import { API_TAGS, apiCatalog, ERROR_CODES, isCatalogPath } from "./api_catalog.ts";
import { z } from "zod";
import * as chat from "./chat.ts";
import * as identity from "./identity.ts";
import * as link from "./link.ts";
import * as notifications from "./notifications.ts";
import * as push from "./push.ts";
import * as topics from "./topics.ts";
import * as transfer from "./transfer.ts";

const catalog = apiCatalog(loadConfig({}));

Deno.test("the catalog documents every endpoint once, under a known tag, with known error codes", () => {
  const tags = new Set(API_TAGS.map((tag) => tag.name));
  const seen = new Set<string>();
  for (const endpoint of catalog) {
    const key = `${endpoint.method} ${endpoint.path}`;
    assert.ok(!seen.has(key), `${key} twice`);
    seen.add(key);
    assert.ok(isCatalogPath(endpoint.path), `${key} is outside /api`);
    assert.ok(tags.has(endpoint.tag), `${key}: unknown tag ${endpoint.tag}`);
    assert.ok(endpoint.summary && endpoint.description, `${key} needs a summary and description`);
    for (const code of endpoint.errors) {
      assert.ok(ERROR_CODES[code], `${key}: error code "${code}" is not in ERROR_CODES`);
    }
    for (const status of Object.keys(endpoint.responses).map(Number)) {
      // /healthz and /readyz answer 503 with their own body, not an error code.
      if (status >= 400 && endpoint.path !== "/healthz" && endpoint.path !== "/readyz") {
        assert.ok(
          endpoint.errors.some((code) => ERROR_CODES[code]!.status === status),
          `${key}: no error code for its ${status} response`,
        );
      }
    }
  }
  // Every registered code is used somewhere (no stale entries).
  const used = new Set(catalog.flatMap((endpoint) => endpoint.errors));
  const unused = Object.keys(ERROR_CODES).filter((code) =>
    !used.has(code) && code !== "internal_error"
  );
  assert.deepEqual(unused, []);
});

Deno.test("every example calls curl with -f, so an HTTP error fails it", () => {
  for (const endpoint of catalog) {
    assert.ok(endpoint.example, `${endpoint.method} ${endpoint.path} has no example`);
    for (const call of endpoint.example.matchAll(/\bcurl((?:\s+-[A-Za-z]+)*)/g)) {
      assert.match(call[1] ?? "", /-[A-Za-z]*f/, `${endpoint.method} ${endpoint.path}: ${call[0]}`);
    }
  }
});

Deno.test("streams document their frames: WebSockets with the route's own frame schemas", () => {
  for (const endpoint of catalog) {
    const key = `${endpoint.method} ${endpoint.path}`;
    if (endpoint.transport === "websocket") {
      assert.ok(endpoint.frames && Object.keys(endpoint.frames).length, `${key} needs frames`);
      assert.ok(endpoint.serverFrames?.pong, `${key} documents pong`);
    }
    if (endpoint.transport === "sse") assert.ok(endpoint.serverFrames, `${key} needs its events`);
  }
  const byPath = new Map(catalog.map((endpoint) => [endpoint.path, endpoint]));
  assert.equal(byPath.get("/api/ws/topics/{topic}")?.frames, topics.topicClientFrames);
  assert.equal(byPath.get("/api/ws/notifications")?.frames, notifications.notificationClientFrames);
});

Deno.test("every schema a route module exports is the one its catalog entry documents", () => {
  const used = new Set<unknown>(
    catalog.flatMap((endpoint) => [endpoint.body, endpoint.query, endpoint.params]),
  );
  const modules = { chat, identity, link, notifications, push, topics, transfer };
  const exported = Object.entries(modules).flatMap(([module, exports]) =>
    Object.entries(exports)
      .filter(([name, value]) => name.endsWith("Schema") && value instanceof z.ZodType)
      .map(([name, value]) => ({ name: `${module}.${name}`, value }))
  );
  assert.ok(exported.length >= 12, `${exported.length} exported schemas`);
  const missing = exported.filter((schema) => !used.has(schema.value)).map((schema) => schema.name);
  assert.deepEqual(missing, []);
});

Deno.test("the catalog builds an OpenAPI document with JSON Schemas of bodies, queries and frames", () => {
  const document = buildOpenApi(catalog, {
    title: "Switchboard API",
    version: "1.0.0",
    serverUrl: "http://localhost:8000",
    errorCodes: ERROR_CODES,
  });
  const tokens = document.paths["/api/tokens"]?.post;
  const body = tokens?.requestBody?.content["application/json"]?.schema as {
    required: string[];
    properties: Record<string, unknown>;
  };
  assert.deepEqual(body.required, ["userId"]);
  assert.deepEqual(Object.keys(body.properties), [
    "userId",
    "name",
    "perms",
    "ttlSeconds",
    "channels",
  ]);
  const history = document.paths["/api/notifications"]?.get;
  assert.deepEqual(history?.parameters.map((parameter) => parameter.name), [
    "before",
    "limit",
    "since",
  ]);
  const signaling = document.paths["/api/ws/file-share-session"]?.get;
  const required = signaling?.parameters.filter((parameter) => parameter.required);
  assert.deepEqual(required?.slice(0, 2).map((parameter) => parameter.name), ["code", "role"]);
  assert.ok(signaling?.parameters.some((parameter) => parameter.name === "token"));
  assert.deepEqual(Object.keys(signaling?.["x-switchboard-frames"] ?? {}), [
    "offer",
    "answer",
    "ice-candidate",
    "ready",
    "cancel",
    "fallback-link",
    "pairing-key",
    "sealed-files",
  ]);
  const chat = document.paths["/api/ws/channels/{channelId}"]?.get;
  assert.deepEqual(Object.keys(chat?.["x-switchboard-frames"] ?? {}), [
    "message",
    "typing",
    "presence",
    "sync",
  ]);
  // The transfer TTL limit follows configuration, as the route's does.
  const short = buildOpenApi(apiCatalog(loadConfig({ TRANSFER_MAX_SECONDS: "600" })), {
    title: "",
    version: "",
    serverUrl: "",
  });
  const create = short.paths["/api/transfer/create"]?.post?.requestBody?.content["application/json"]
    ?.schema as { properties: { ttlSeconds: { maximum: number } } };
  assert.equal(create.properties.ttlSeconds.maximum, 600);
});
