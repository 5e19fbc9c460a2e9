import { useState } from "preact/hooks";

type Tab = "notify" | "share" | "chat";

function examples(origin: string): Record<Tab, { title: string; code: string }> {
  return {
    notify: {
      title: "Publish a notification",
      code: `curl -X POST ${origin}/api/notifications/publish \\
  -H "Authorization: Bearer $SWITCHBOARD_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"userId":"ada","type":"success","data":{"message":"Build finished"}}'`,
    },
    share: {
      title: "Upload a file, get a link",
      code: `curl -X POST ${origin}/api/upload \\
  -H "X-Filename: report.pdf" --data-binary @report.pdf`,
    },
    chat: {
      title: "Get a guest token for chat",
      code: `curl -X POST ${origin}/api/auth/guest \\
  -H "Content-Type: application/json" -d '{"name":"Ada"}'`,
    },
  };
}

const LABELS: Record<Tab, string> = { notify: "Notify", share: "Upload", chat: "Chat" };

/** The landing page's quick-start tabs: one way to use Switchboard per tab. */
export default function QuickStart(props: { origin: string }) {
  const [tab, setTab] = useState<Tab>("notify");
  const example = examples(props.origin)[tab];
  return (
    <div class="tabs">
      <div role="tablist" aria-label="Examples">
        {(Object.keys(LABELS) as Tab[]).map((key) => (
          <button
            type="button"
            role="tab"
            aria-selected={key === tab}
            class={key === tab ? "tab active" : "tab"}
            onClick={() => setTab(key)}
          >
            {LABELS[key]}
          </button>
        ))}
      </div>
      <div role="tabpanel" class="tab-panel">
        <h3 data-testid="example-title">{example.title}</h3>
        <pre><code>{example.code}</code></pre>
      </div>
    </div>
  );
}
