import assert from "node:assert/strict";
import { parseKvLatency, withSimulatedLatency } from "./latency.ts";

Deno.test("parseKvLatency() reads strong/eventual milliseconds and refuses anything else", () => {
  assert.deepEqual(parseKvLatency("94/7"), { strongMs: 94, eventualMs: 7 });
  assert.deepEqual(parseKvLatency("20"), { strongMs: 20, eventualMs: 20 });
  assert.deepEqual(parseKvLatency(" 0.5 / 0 "), { strongMs: 0.5, eventualMs: 0 });
  for (const bad of ["", "fast", "94/", "/7", "-1/2", "94/7/1", "20000/1"]) {
    assert.deepEqual(parseKvLatency(bad), null, bad);
  }
});

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await work();
  return [value, performance.now() - started];
}

Deno.test("withSimulatedLatency() makes strong operations pay the strong time and eventual reads the eventual time", async () => {
  await using raw = await Deno.openKv(":memory:");
  const kv = withSimulatedLatency(raw, { strongMs: 60, eventualMs: 15 });
  const [, setMs] = await timed(() => kv.set(["a"], 1));
  const [entry, getMs] = await timed(() => kv.get<number>(["a"]));
  const [eventual, eventualMs] = await timed(() =>
    kv.get<number>(["a"], { consistency: "eventual" })
  );
  const [result, commitMs] = await timed(() => kv.atomic().check(entry).set(["a"], 2).commit());
  assert.deepEqual(entry.value, 1);
  assert.deepEqual(eventual.value, 1);
  assert(result.ok);
  assert.deepEqual((await raw.get(["a"])).value, 2);
  assert(setMs >= 59, `set took ${setMs} ms`);
  assert(getMs >= 59, `get took ${getMs} ms`);
  assert(commitMs >= 59, `commit took ${commitMs} ms`);
  assert(eventualMs >= 14 && eventualMs < getMs, `eventual get took ${eventualMs} ms`);
});

Deno.test("withSimulatedLatency() lets round trips overlap: ten concurrent commits take about one", async () => {
  await using raw = await Deno.openKv(":memory:");
  const kv = withSimulatedLatency(raw, { strongMs: 100, eventualMs: 10 });
  const [, ms] = await timed(() =>
    Promise.all(Array.from({ length: 10 }, (_, index) => kv.set(["k", index], index)))
  );
  assert(ms >= 99, `took ${ms} ms`);
  assert(ms < 1000, `ten concurrent sets took ${ms} ms: they ran one after another`);
});

Deno.test("withSimulatedLatency() charges a list one round trip per page", async () => {
  await using raw = await Deno.openKv(":memory:");
  for (let index = 0; index < 25; index++) await raw.set(["items", index], index);
  const kv = withSimulatedLatency(raw, { strongMs: 40, eventualMs: 40 });
  const [items, ms] = await timed(async () => {
    const found: number[] = [];
    for await (const entry of kv.list<number>({ prefix: ["items"] }, { batchSize: 10 })) {
      found.push(entry.value);
    }
    return found;
  });
  assert.deepEqual(items.length, 25);
  // Pages of 10, 10 and 5 entries: three round trips.
  assert(ms >= 119, `took ${ms} ms`);
});

Deno.test("withSimulatedLatency() delivers a watch notification a strong round trip after the commit", async () => {
  await using raw = await Deno.openKv(":memory:");
  const kv = withSimulatedLatency(raw, { strongMs: 50, eventualMs: 5 });
  const stream = kv.watch<[number]>([["w"]]);
  const reader = stream.getReader();
  assert.deepEqual((await reader.read()).value?.[0].value, null);
  const committedAt = performance.now();
  await raw.set(["w"], 7);
  let seen = await reader.read();
  while (seen.value?.[0].value !== 7) seen = await reader.read();
  const waited = performance.now() - committedAt;
  await reader.cancel();
  assert(waited >= 49, `the watch saw the commit after ${waited} ms`);
});
