import assert from "node:assert/strict";
import { OneLineError, oneLineMessage } from "./one_line.ts";

Deno.test("oneLineMessage() reads the body and every ntfy spelling of the headers", () => {
  assert.deepEqual(oneLineMessage("Backup done\n", new Headers()), { message: "Backup done" });
  assert.deepEqual(
    oneLineMessage(
      "Disk full",
      new Headers({
        Title: "nas01",
        Tags: " warning, ,disk ",
        Priority: "urgent",
        Click: "https://nas01.example",
      }),
    ),
    {
      message: "Disk full",
      title: "nas01",
      tags: ["warning", "disk"],
      priority: 5,
      link: "https://nas01.example",
    },
  );
  assert.deepEqual(
    oneLineMessage("x", new Headers({ "X-Title": "a", "X-Tags": "b", "X-Priority": "2" })),
    { message: "x", title: "a", tags: ["b"], priority: 2 },
  );
  assert.deepEqual(oneLineMessage("x", new Headers({ t: "a", ta: "b", p: "min" })), {
    message: "x",
    title: "a",
    tags: ["b"],
    priority: 1,
  });
});

Deno.test("oneLineMessage() refuses an empty body and an unknown priority", () => {
  assert.throws(
    () => oneLineMessage(" \n ", new Headers()),
    (error) => error instanceof OneLineError && error.code === "missing_message",
  );
  for (const priority of ["6", "0", "asap", "3.5"]) {
    assert.throws(
      () => oneLineMessage("x", new Headers({ Priority: priority })),
      (error) => error instanceof OneLineError && error.code === "invalid_priority",
      priority,
    );
  }
});
