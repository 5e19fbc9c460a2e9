import assert from "node:assert/strict";
import { z } from "zod";
import type { EndpointDoc } from "./endpoint.ts";
import { buildOpenApi, operationId } from "./openapi.ts";

const OPTIONS = { title: "Test", version: "1.0.0", serverUrl: "http://localhost:8000" };

const upload: EndpointDoc = {
  method: "POST",
  path: "/api/items/{id}/upload",
  tag: "Items",
  summary: "Upload",
  description: "Stores a file.",
  auth: "api_key",
  rawBody: {
    mediaTypes: ["application/octet-stream", "multipart/form-data"],
    description: "The file",
  },
  params: z.object({ id: z.string().regex(/^[a-z]+$/) }),
  query: z.object({
    ttlSeconds: z.coerce.number().int().min(1).max(86400).optional(),
    limit: z.coerce.number().int().default(5),
  }),
  headers: { "X-Filename": "The file name" },
  notes: { ttlSeconds: "Life of the link" },
  responses: { 201: "Stored", 413: "Too large" },
  errors: ["file_too_large"],
  example: 'curl -fsS -X POST "$BASE/api/items/a/upload"',
};

const socket: EndpointDoc = {
  method: "GET",
  path: "/api/ws/rooms/{room}",
  tag: "Rooms",
  summary: "Room socket",
  description: "Upgrades to a WebSocket.",
  auth: "stream_token",
  transport: "websocket",
  frames: { say: z.object({ type: z.literal("say"), text: z.string().max(10) }).strict() },
  serverFrames: { said: "Someone said something" },
  responses: { 101: "Switching protocols", 401: "No token" },
  errors: ["invalid_token"],
  guides: ["protocol"],
};

const publish: EndpointDoc = {
  method: "POST",
  path: "/api/rooms/{room}/publish",
  tag: "Rooms",
  summary: "Publish",
  description: "",
  auth: "none",
  body: z.object({ data: z.unknown(), id: z.string().optional() }).strict(),
  variants: {
    field: "data",
    discriminator: "kind",
    schemas: { note: z.object({ text: z.string() }) },
  },
  responses: { 202: "Accepted" },
  errors: [],
};

Deno.test("buildOpenApi() writes an OpenAPI 3.1 document with parameters from the zod schemas", () => {
  const document = buildOpenApi([upload, socket, publish], {
    ...OPTIONS,
    tags: [{ name: "Rooms", description: "Chat rooms" }],
    errorCodes: { file_too_large: { status: 413, description: "Too big" } },
  });
  assert.equal(document.openapi, "3.1.0");
  assert.deepEqual(document.servers, [{ url: "http://localhost:8000" }]);
  assert.deepEqual(document.tags, [{ name: "Rooms", description: "Chat rooms" }, {
    name: "Items",
  }]);
  const post = document.paths["/api/items/{id}/upload"]?.post;
  assert.ok(post);
  assert.equal(post.operationId, "postItemsByIdUpload");
  assert.deepEqual(post.security, [{ apiKey: [] }]);
  assert.deepEqual(post.parameters, [
    { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^[a-z]+$" } },
    {
      name: "ttlSeconds",
      in: "query",
      required: false,
      description: "Life of the link",
      schema: { type: "integer", minimum: 1, maximum: 86400 },
    },
    {
      name: "limit",
      in: "query",
      required: false,
      schema: {
        type: "integer",
        default: 5,
        minimum: -9007199254740991,
        maximum: 9007199254740991,
      },
    },
    {
      name: "X-Filename",
      in: "header",
      required: false,
      description: "The file name",
      schema: { type: "string" },
    },
  ]);
  assert.deepEqual(Object.keys(post.requestBody?.content ?? {}), [
    "application/octet-stream",
    "multipart/form-data",
  ]);
  assert.deepEqual(post.responses["413"]?.content?.["application/json"]?.schema, {
    $ref: "#/components/schemas/Error",
  });
  assert.equal(post.responses["201"]?.content, undefined);
  assert.deepEqual(post["x-codeSamples"], [{
    lang: "Shell",
    label: "curl",
    source: upload.example,
  }]);
  assert.deepEqual(document["x-switchboard-error-codes"], {
    file_too_large: { status: 413, description: "Too big" },
  });
  assert.ok(document.components.schemas.Error);
});

Deno.test("buildOpenApi() puts JSON bodies and WebSocket frames in as JSON Schema", () => {
  const document = buildOpenApi([socket, publish], OPTIONS);
  const body = document.paths["/api/rooms/{room}/publish"]?.post?.requestBody;
  assert.deepEqual(body?.content["application/json"]?.schema, {
    type: "object",
    properties: { data: {}, id: { type: "string" } },
    required: ["data"],
    additionalProperties: false,
  });
  assert.deepEqual(document.paths["/api/rooms/{room}/publish"]?.post?.["x-switchboard-variants"], {
    field: "data",
    discriminator: "kind",
    schemas: {
      note: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    },
  });
  const get = document.paths["/api/ws/rooms/{room}"]?.get;
  assert.equal(get?.["x-switchboard-transport"], "websocket");
  assert.deepEqual(get?.security, [{ streamToken: [] }, { userToken: [] }]);
  assert.deepEqual(get?.["x-switchboard-frames"]?.say, {
    type: "object",
    properties: { type: { type: "string", const: "say" }, text: { type: "string", maxLength: 10 } },
    required: ["type", "text"],
    additionalProperties: false,
  });
  assert.deepEqual(get?.["x-switchboard-server-frames"], { said: "Someone said something" });
  assert.deepEqual(get?.parameters, [{
    name: "room",
    in: "path",
    required: true,
    schema: { type: "string" },
  }]);
  // The result is plain JSON.
  assert.deepEqual(JSON.parse(JSON.stringify(document)), document);
});

Deno.test("buildOpenApi() lists registered routes the catalog does not describe", () => {
  const document = buildOpenApi([publish], {
    ...OPTIONS,
    registeredRoutes: [
      { method: "ALL", path: "/api/*" },
      { method: "POST", path: "/api/rooms/:room/publish" },
      { method: "GET", path: "/api/rooms/:room/secret" },
      { method: "GET", path: "/" },
    ],
    include: (path) => path.startsWith("/api/"),
  });
  assert.deepEqual(document["x-switchboard-undocumented"], ["GET /api/rooms/{room}/secret"]);
  assert.deepEqual(document["x-switchboard-unregistered"], []);
});

Deno.test("buildOpenApi() refuses an endpoint twice and a parameter missing from the path", () => {
  assert.throws(() => buildOpenApi([publish, publish], OPTIONS), /documented twice/);
  assert.throws(
    () => buildOpenApi([{ ...publish, params: z.object({ other: z.string() }) }], OPTIONS),
    /parameter "other" is not in the path/,
  );
});

Deno.test("operationId() names operations from method and path", () => {
  assert.equal(operationId("GET", "/api/download/{id}"), "getDownloadById");
  assert.equal(operationId("POST", "/api/auth/guest"), "postAuthGuest");
  assert.equal(
    operationId("GET", "/api/notifications/unread-count"),
    "getNotificationsUnreadCount",
  );
  assert.equal(operationId("GET", "/healthz"), "getHealthz");
});
