import assert from "node:assert/strict";
import { routeCoverage, toOpenApiPath } from "./coverage.ts";
import type { EndpointDoc } from "./endpoint.ts";

function endpoint(method: EndpointDoc["method"], path: string): EndpointDoc {
  return {
    method,
    path,
    tag: "T",
    summary: "",
    description: "",
    auth: "none",
    responses: {},
    errors: [],
  };
}

Deno.test("toOpenApiPath() turns router parameters, with or without a pattern, into {name}", () => {
  assert.equal(toOpenApiPath("/api/download/:id"), "/api/download/{id}");
  assert.equal(toOpenApiPath("/static/:file{[A-Za-z0-9_.-]+}"), "/static/{file}");
  assert.equal(toOpenApiPath("/api/a/:x/b/:y?"), "/api/a/{x}/b/{y}");
  assert.equal(toOpenApiPath("/healthz"), "/healthz");
});

Deno.test("routeCoverage() lists registered routes the catalog misses, skipping middleware", () => {
  const coverage = routeCoverage(
    [
      { method: "ALL", path: "/api/*" },
      { method: "GET", path: "/api/download/:id" },
      { method: "DELETE", path: "/api/download/:id" },
      { method: "POST", path: "/api/new" },
      { method: "GET", path: "/share" },
    ],
    [endpoint("GET", "/api/download/{id}"), endpoint("HEAD", "/api/download/{id}")],
    { include: (path) => path.startsWith("/api/") },
  );
  assert.deepEqual(coverage.undocumented, ["DELETE /api/download/{id}", "POST /api/new"]);
  assert.deepEqual(coverage.unregistered, []);
});

Deno.test("routeCoverage() lists documented endpoints no route serves", () => {
  const coverage = routeCoverage(
    [{ method: "GET", path: "/api/a" }],
    [endpoint("GET", "/api/a"), endpoint("POST", "/api/gone"), endpoint("HEAD", "/api/b")],
  );
  assert.deepEqual(coverage.undocumented, []);
  assert.deepEqual(coverage.unregistered, ["POST /api/gone", "HEAD /api/b"]);
});
