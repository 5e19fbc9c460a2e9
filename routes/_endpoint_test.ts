import assert from "node:assert/strict";
import { Hono } from "hono";
import { z } from "zod";
import { type Endpoint, serve } from "./_endpoint.ts";

Deno.test("serve() registers the handler under the declared method and path", async () => {
  const app = new Hono();
  const echo: Endpoint = {
    method: "POST",
    path: "/api/echo/{word}/{times}",
    tag: "Demo",
    summary: "Echo",
    description: "Echoes a word.",
    auth: "none",
    responses: { 200: { description: "The word", body: z.object({ echo: z.string() }) } },
    errors: [],
  };
  serve(
    app,
    echo,
    (c) => c.json({ echo: c.req.param("word").repeat(Number(c.req.param("times"))) }),
  );
  assert.deepEqual(app.routes.map((route) => `${route.method} ${route.path}`), [
    "POST /api/echo/:word/:times",
  ]);
  const answer = await app.request("/api/echo/ab/2", { method: "POST" });
  assert.deepEqual(await answer.json(), { echo: "abab" });
  assert.equal((await app.request("/api/echo/ab/2")).status, 404);
});
