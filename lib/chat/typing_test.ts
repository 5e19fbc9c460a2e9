import assert from "node:assert/strict";
import { FakeClock } from "../clock/testing.ts";
import { TypingTracker, type Typist } from "./typing.ts";

const ada: Typist = { channelId: "lobby", userId: "ada", username: "Ada" };

function tracker(options: { throttleMs: number; timeoutMs: number; clock?: FakeClock }) {
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

Deno.test("TypingTracker stops typing that is not refreshed within the timeout", () => {
  const clock = new FakeClock();
  const { typing, announced } = tracker({ throttleMs: 20, timeoutMs: 150, clock });
  using _ = typing;
  typing.update(ada, true);
  clock.tick(100);
  typing.update(ada, true); // a refresh pushes the timeout back
  clock.tick(100);
  assert.deepEqual(typing.typing("lobby"), ["ada"], "still typing 200 ms after the start");
  clock.tick(49);
  assert.deepEqual(typing.typing("lobby"), ["ada"], "149 ms after the refresh");
  clock.tick(1);
  assert.deepEqual(typing.typing("lobby"), []);
  assert.deepEqual(announced, ["ada:true", "ada:true", "ada:false"]);
});

Deno.test("TypingTracker announces a refresh once the throttle has passed, not before", () => {
  const clock = new FakeClock();
  const { typing, announced } = tracker({ throttleMs: 1500, timeoutMs: 5000, clock });
  using _ = typing;
  assert.equal(typing.update(ada, true), true);
  clock.tick(1499);
  assert.equal(typing.update(ada, true), false);
  clock.tick(1);
  assert.equal(typing.update(ada, true), true);
  assert.deepEqual(announced, ["ada:true", "ada:true"]);
});

Deno.test("TypingTracker.stop() (the user sent a message) clears typing at once", () => {
  const { typing, announced } = tracker({ throttleMs: 1000, timeoutMs: 5000 });
  using _ = typing;
  typing.update(ada, true);
  assert.equal(typing.stop("lobby", "ada"), true);
  assert.equal(typing.stop("lobby", "ada"), false);
  assert.deepEqual(announced, ["ada:true", "ada:false"]);
});
