import assert from "node:assert/strict";
import { GuideCache } from "./guide_cache.ts";
import { renderGuide } from "./guide.ts";

const DOCS = new URL("../../docs/", import.meta.url);

function setup() {
  const loaded: string[] = [];
  const guides = new GuideCache(["api", "chat"], async (name) => {
    loaded.push(name);
    return renderGuide(await Deno.readTextFile(new URL(`${name}.md`, DOCS)));
  });
  return { guides, loaded };
}

Deno.test("GuideCache.get() answers 3,000 made-up names with null and caches none of them", async () => {
  const { guides, loaded } = setup();
  for (let index = 0; index < 3000; index++) {
    assert.equal(await guides.get(`unknown-${index}-${"x".repeat(index % 200)}`), null);
  }
  for (const name of ["../README", "api.md", "API", "__proto__", "constructor", ""]) {
    assert.equal(await guides.get(name), null, name);
  }
  assert.equal(guides.size, 0);
  assert.deepEqual(loaded, []);
});

Deno.test("GuideCache.get() renders a known guide once and keeps it", async () => {
  const { guides, loaded } = setup();
  const [first, second] = await Promise.all([guides.get("api"), guides.get("api")]);
  assert.ok(first);
  assert.equal(first, second);
  assert.match(first.html, /<h1 id="http-api-tour">/);
  assert.equal(await guides.get("api"), first);
  assert.deepEqual(loaded, ["api"]);
  assert.equal(guides.size, 1);
});

Deno.test("GuideCache.get() retries a guide whose read failed", async () => {
  let calls = 0;
  const guides = new GuideCache(["api"], () => {
    calls += 1;
    return calls === 1
      ? Promise.reject(new Error("disk hiccup"))
      : Promise.resolve(renderGuide("# API"));
  });
  await assert.rejects(guides.get("api"), /disk hiccup/);
  assert.equal((await guides.get("api"))?.title, "API");
  assert.equal(calls, 2);
});
