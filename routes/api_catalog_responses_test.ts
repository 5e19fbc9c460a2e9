import assert from "node:assert/strict";
import { buildOpenApi } from "../lib/api_docs/mod.ts";
import { loadConfig } from "../lib/config/mod.ts";
import { apiCatalog } from "./api_catalog.ts";

Deno.test("every 2xx response in the OpenAPI document has a content schema", () => {
  const document = buildOpenApi(apiCatalog(loadConfig({})), {
    title: "Switchboard API",
    version: "1.0.0",
    serverUrl: "http://localhost:8000",
  });
  const typed: string[] = [];
  const untyped: string[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      for (const [status, response] of Object.entries(operation!.responses)) {
        if (!/^2\d\d$/.test(status)) continue;
        const contents = Object.values(response.content ?? {});
        const key = `${method.toUpperCase()} ${path} ${status}`;
        if (contents.length && contents.every((content) => Object.keys(content.schema).length)) {
          typed.push(key);
        } else untyped.push(key);
      }
    }
  }
  assert.deepEqual(untyped, []);
  assert.ok(typed.length >= 34, `${typed.length} typed success responses`);
});

Deno.test("JSON success schemas are zod's output JSON Schemas, with their fields", () => {
  const document = buildOpenApi(apiCatalog(loadConfig({})), {
    title: "",
    version: "",
    serverUrl: "",
  });
  const created = document.paths["/api/transfer/create"]?.post?.responses["201"];
  const schema = created?.content?.["application/json"]?.schema as {
    properties: Record<string, unknown>;
    required: string[];
  };
  assert.deepEqual(schema.required, ["transferId", "code", "senderToken", "expiresAt", "joinUrl"]);
  const events = document.paths["/api/topics/{topic}/events"]?.get?.responses["200"];
  assert.ok(events?.content?.["text/event-stream"]);
});
