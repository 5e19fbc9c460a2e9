import assert from "node:assert/strict";
import { ApiClientError, apiFetch, parseApiError } from "./mod.ts";

/** A fetch that records its request and answers with `response`. */
function answering(response: () => Response): { fetch: typeof fetch; requests: Request[] } {
  const requests: Request[] = [];
  return {
    requests,
    fetch: (input, init) => {
      requests.push(new Request(new URL(String(input), "http://switchboard.test"), init));
      return Promise.resolve(response());
    },
  };
}

Deno.test("parseApiError() reads code, message and issues from the error envelope", () => {
  const error = parseApiError(
    400,
    JSON.stringify({
      error: {
        code: "invalid_notification",
        message: "data.title: Required",
        issues: [{ path: "data.title", message: "Required" }, { path: 3 }],
      },
    }),
  );
  assert.ok(error instanceof ApiClientError);
  assert.equal(error.status, 400);
  assert.equal(error.code, "invalid_notification");
  assert.equal(error.message, "data.title: Required");
  assert.deepEqual(error.issues, [{ path: "data.title", message: "Required" }]);
  assert.equal(error.retryable, false);
});

Deno.test("parseApiError() describes a body that is not the envelope by its status", () => {
  for (const body of ["<html>Bad gateway</html>", "", '{"error":"nope"}', "null"]) {
    const error = parseApiError(502, body);
    assert.equal(error.code, "http_error");
    assert.equal(error.message, "The server answered 502");
    assert.equal(error.retryable, true);
  }
});

Deno.test("apiFetch() sends JSON with a bearer token and returns the JSON answer", async () => {
  const server = answering(() => Response.json({ ok: true }, { status: 201 }));
  const body = await apiFetch<{ ok: boolean }>("/api/auth/guest", {
    method: "POST",
    json: { name: "Ada" },
    token: "t0k",
    fetch: server.fetch,
  });
  assert.deepEqual(body, { ok: true });
  const [request] = server.requests;
  assert.equal(request?.method, "POST");
  assert.equal(request?.headers.get("content-type"), "application/json");
  assert.equal(request?.headers.get("authorization"), "Bearer t0k");
  assert.deepEqual(await request?.json(), { name: "Ada" });
});

Deno.test("apiFetch() sends neither a body nor a content type without json, and returns undefined for an empty answer", async () => {
  const server = answering(() => new Response(null, { status: 204 }));
  assert.equal(
    await apiFetch("/api/download/x", { method: "DELETE", fetch: server.fetch }),
    undefined,
  );
  assert.equal(server.requests[0]?.headers.get("content-type"), null);
  assert.equal(server.requests[0]?.headers.get("authorization"), null);
});

Deno.test("apiFetch() rejects a refused request with the server's code, status and message", async () => {
  const server = answering(() =>
    Response.json({ error: { code: "session_not_found", message: "No such transfer" } }, {
      status: 404,
    })
  );
  await assert.rejects(
    apiFetch("/api/transfer/join", {
      method: "POST",
      json: { code: "K7QX3M" },
      fetch: server.fetch,
    }),
    (error: unknown) =>
      error instanceof ApiClientError && error.status === 404 &&
      error.code === "session_not_found" && error.message === "No such transfer",
  );
});

Deno.test("apiFetch() turns a failed connection into network_error with status 0", async () => {
  const failing: typeof fetch = () => Promise.reject(new TypeError("connection refused"));
  await assert.rejects(
    apiFetch("/api/health", { fetch: failing }),
    (error: unknown) =>
      error instanceof ApiClientError && error.status === 0 && error.code === "network_error" &&
      error.retryable && error.cause instanceof TypeError,
  );
});

Deno.test("apiFetch() rejects with the abort reason when its signal aborts", async () => {
  const controller = new AbortController();
  const reason = new DOMException("stop", "AbortError");
  controller.abort(reason);
  const aborting: typeof fetch = () => Promise.reject(new DOMException("aborted", "AbortError"));
  await assert.rejects(
    apiFetch("/api/health", { fetch: aborting, signal: controller.signal }),
    (error: unknown) => error === reason,
  );
});

Deno.test("apiFetch() rejects a successful answer that is not JSON as invalid_response", async () => {
  const server = answering(() => new Response("<html>", { status: 200 }));
  await assert.rejects(
    apiFetch("/api/health", { fetch: server.fetch }),
    (error: unknown) => error instanceof ApiClientError && error.code === "invalid_response",
  );
});
