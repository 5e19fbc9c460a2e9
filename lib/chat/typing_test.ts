import assert from "node:assert/strict";
import { TypingTracker, type Typist } from "./typing.ts";

const ada: Typist = { channelId: "lobby", userId: "ada", username: "Ada" };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tracker(options: { throttleMs: number; timeoutMs: number }) {
  const announced: string[] = [];
  const typing = new TypingTracker({
    ...options,
    announce: (typist, isTyping) => announced.push(`${typist.userId}:${isTyping}`),
  });
  return { typing, announced };
}

Deno.test("TypingTracker throttles refreshes per user and announces a stop once", () => {
  const { typing, announced } = tracker({ throttleMs: 10_000, timeoutMs: 10_000 });
  using _ = typing;
  assert.equal(typing.update(ada, true), true);
  assert.equal(typing.update(ada, true), false, "a refresh within the throttle is not announced");
  assert.equal(typing.update({ ...ada, userId: "bob" }, true), true, "other users are separate");
  assert.equal(typing.update(ada, false), true);
  assert.equal(typing.update(ada, false), false, "stopping twice announces once");
  assert.deepEqual(announced, ["ada:true", "bob:true", "ada:false"]);
  assert.deepEqual(typing.typing("lobby"), ["bob"]);
});

Deno.test("TypingTracker stops typing that is not refreshed within the timeout", async () => {
  const { typing, announced } = tracker({ throttleMs: 20, timeoutMs: 150 });
  using _ = typing;
  typing.update(ada, true);
  await sleep(100);
  typing.update(ada, true); // a refresh pushes the timeout back
  await sleep(100);
  assert.deepEqual(typing.typing("lobby"), ["ada"], "still typing 200 ms after the start");
  await sleep(120);
  assert.deepEqual(typing.typing("lobby"), []);
  assert.deepEqual(announced, ["ada:true", "ada:true", "ada:false"]);
});

Deno.test("TypingTracker.stop() (the user sent a message) clears typing at once", () => {
  const { typing, announced } = tracker({ throttleMs: 1000, timeoutMs: 5000 });
  using _ = typing;
  typing.update(ada, true);
  assert.equal(typing.stop("lobby", "ada"), true);
  assert.equal(typing.stop("lobby", "ada"), false);
  assert.deepEqual(announced, ["ada:true", "ada:false"]);
});
