import assert from "node:assert/strict";
import { headingId, renderGuide } from "./guide.ts";

Deno.test("renderGuide() renders tables and code, with anchors and a contents list", () => {
  const guide = renderGuide(
    [
      "# Link mode",
      "",
      "## `POST /api/upload`",
      "",
      "| a | b |",
      "| - | - |",
      "| 1 | 2 |",
      "",
      "## Limits",
      "",
      "```sh",
      'curl -fsS "$BASE/healthz"',
      "```",
      "",
      "## Limits",
    ].join("\n"),
  );
  assert.equal(guide.title, "Link mode");
  assert.deepEqual(guide.headings, [
    { id: "post-apiupload", text: "POST /api/upload" },
    { id: "limits", text: "Limits" },
    { id: "limits-1", text: "Limits" },
  ]);
  assert.match(
    guide.html,
    /<h2 id="post-apiupload"><a class="anchor" href="#post-apiupload"><code>/,
  );
  assert.match(guide.html, /<table>[\s\S]*<td>1<\/td>/);
  assert.match(guide.html, /<pre><code class="language-sh">curl -fsS &quot;\$BASE\/healthz&quot;/);
});

Deno.test("renderGuide() points links between known guides to their pages", () => {
  const guide = renderGuide(
    "See [chat](chat.md#history), [ops](./operations.md), [other](other.md) and [web](https://x.dev/a.md).",
    { guides: ["chat", "operations"] },
  );
  assert.match(guide.html, /href="\/docs\/guides\/chat#history"/);
  assert.match(guide.html, /href="\/docs\/guides\/operations"/);
  assert.match(guide.html, /href="other.md"/);
  assert.match(guide.html, /href="https:\/\/x.dev\/a.md"/);
});

Deno.test("headingId() makes GitHub-style anchors", () => {
  assert.equal(headingId("Acks and re-sends"), "acks-and-re-sends");
  assert.equal(headingId("Deno Deploy (needs internet)"), "deno-deploy-needs-internet");
});
