import { useEffect, useRef, useState } from "preact/hooks";
import { ApiClientError, apiFetch, RealtimeClient } from "../lib/client/mod.ts";
import type { AdminSnapshot } from "../lib/admin/snapshot.ts";

const KEY_STORAGE = "switchboard.adminKey";

function Table(props: { head: string[]; rows: Array<Array<string | number>>; empty: string }) {
  if (props.rows.length === 0) return <p class="muted">{props.empty}</p>;
  return (
    <table class="data-table">
      <thead>
        <tr>{props.head.map((cell) => <th key={cell}>{cell}</th>)}</tr>
      </thead>
      <tbody>
        {props.rows.map((row, index) => (
          <tr key={index}>{row.map((cell, column) => <td key={column}>{cell}</td>)}</tr>
        ))}
      </tbody>
    </table>
  );
}

function Stat(props: { label: string; value: string | number; testId?: string }) {
  return (
    <div class="stat">
      <span class="stat-value" data-testid={props.testId}>{props.value}</span>
      <span class="stat-label">{props.label}</span>
    </div>
  );
}

function entries(record: Record<string, number>): Array<[string, number]> {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}

/** The live operations dashboard; the API key stays in sessionStorage, never in a URL. */
export default function AdminDashboard() {
  const [apiKey, setApiKey] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const [snapshot, setSnapshot] = useState<AdminSnapshot | null>(null);
  const [status, setStatus] = useState("idle");
  const [error, setError] = useState<string | null>(null);
  const previous = useRef<{ at: number; counters: Record<string, number> } | null>(null);
  const [rates, setRates] = useState<Record<string, number>>({});

  useEffect(() => setApiKey(sessionStorage.getItem(KEY_STORAGE)), []);

  useEffect(() => {
    if (!apiKey) return;
    const client = new RealtimeClient<{ type: string }>({
      transport: "sse",
      sseEvents: ["snapshot"],
      url: async () => {
        try {
          const { token } = await apiFetch<{ token: string }>("/api/admin/stream-token", {
            method: "POST",
            token: apiKey,
          });
          return `/api/admin/stream?token=${encodeURIComponent(token)}`;
        } catch (error) {
          if (error instanceof ApiClientError && error.status === 401) {
            sessionStorage.removeItem(KEY_STORAGE);
            setError("That API key is not valid.");
            setApiKey(null);
          }
          throw error;
        }
      },
      onFrame: (frame) => {
        const next = frame as unknown as AdminSnapshot;
        const at = Date.parse(next.at);
        const before = previous.current;
        if (before && at > before.at) {
          const seconds = (at - before.at) / 1000;
          const perSecond: Record<string, number> = {};
          for (const [name, value] of Object.entries(next.counters)) {
            perSecond[name] = Math.max(0, (value - (before.counters[name] ?? 0)) / seconds);
          }
          setRates(perSecond);
        }
        previous.current = { at, counters: next.counters };
        setSnapshot(next);
        setError(null);
      },
      onStatus: (next) => setStatus(next),
    });
    client.start();
    return () => client.close();
  }, [apiKey]);

  if (!apiKey) {
    return (
      <form
        class="panel narrow"
        onSubmit={(event) => {
          event.preventDefault();
          const key = draft.trim();
          if (!key) return;
          sessionStorage.setItem(KEY_STORAGE, key);
          setDraft("");
          setApiKey(key);
        }}
      >
        <label for="admin-key">API key</label>
        <input
          id="admin-key"
          type="password"
          autocomplete="off"
          value={draft}
          onInput={(event) => setDraft((event.target as HTMLInputElement).value)}
          placeholder="sb_…  (deno task api-key prints it)"
        />
        <p class="muted">Kept in this tab's session storage only, never sent in a URL.</p>
        {error && <p class="notice error">{error}</p>}
        <button type="submit" class="primary">Open dashboard</button>
      </form>
    );
  }

  const connections = snapshot ? entries(snapshot.connections) : [];
  const totalConnections = connections.reduce((sum, [, value]) => sum + value, 0);
  return (
    <div class="admin" data-status={status}>
      <div class="admin-bar">
        <span class={`badge ${status === "open" ? "" : "warn"}`} data-testid="admin-status">
          {status === "open" ? "live" : status}
        </span>
        <span class="muted">
          {snapshot ? `updated ${new Date(snapshot.at).toLocaleTimeString()}` : "waiting…"}
        </span>
        <button
          type="button"
          onClick={() => {
            sessionStorage.removeItem(KEY_STORAGE);
            setApiKey(null);
            setSnapshot(null);
          }}
        >
          Forget key
        </button>
      </div>
      {snapshot && (
        <>
          <div class="stats">
            <Stat label="open connections" value={totalConnections} testId="admin-connections" />
            <Stat label="isolates" value={snapshot.isolates.length} testId="admin-isolates" />
            <Stat label="deliveries / s" value={(rates.deliveries ?? 0).toFixed(1)} />
            <Stat label="publishes / s" value={(rates.publishes ?? 0).toFixed(1)} />
            <Stat label="frames in / s" value={(rates.messagesIn ?? 0).toFixed(1)} />
            <Stat label="slow consumers" value={snapshot.counters.slowConsumers ?? 0} />
          </div>
          <div class="grid-2">
            <section class="panel">
              <h2>Connections by isolate</h2>
              <Table
                head={["isolate", "report age", "by kind"]}
                rows={snapshot.isolates.map((row) => [
                  row.isolate,
                  `${(row.ageMs / 1000).toFixed(1)} s`,
                  entries(row.connections).map(([kind, value]) => `${kind}: ${value}`).join(", ") ||
                  "—",
                ])}
                empty="No isolate reported yet."
              />
              <Table
                head={["kind", "open"]}
                rows={connections}
                empty="No open connections."
              />
            </section>
            <section class="panel">
              <h2>Topics</h2>
              <Table
                head={["topic", "head", "subscribers", "lag"]}
                rows={snapshot.topics.map((row) => [row.topic, row.head, row.subscribers, row.lag])}
                empty="No topic has subscribers."
              />
            </section>
            <section class="panel">
              <h2>Transfer sessions</h2>
              <Table
                head={["state", "sessions"]}
                rows={entries(snapshot.transfers)}
                empty="None."
              />
            </section>
            <section class="panel">
              <h2>Notifications</h2>
              <Table
                head={["event", "count"]}
                rows={entries(snapshot.notifications)}
                empty="No notification activity yet."
              />
            </section>
            <section class="panel">
              <h2>Rate-limit rejections</h2>
              <Table
                head={["bucket", "rejected"]}
                rows={entries(snapshot.rateLimited)}
                empty="None."
              />
            </section>
            <section class="panel">
              <h2>Recent problems</h2>
              {snapshot.problems.length === 0
                ? <p class="muted">No warnings or errors.</p>
                : (
                  <ul class="problems">
                    {snapshot.problems.map((problem) => (
                      <li>
                        <span class={`badge ${problem.level === "error" ? "danger" : "warn"}`}>
                          {String(problem.level)}
                        </span>{" "}
                        <code>{String(problem.event)}</code>{" "}
                        <span class="muted">
                          {String(problem.time)} · {String(problem.isolate)}
                        </span>
                      </li>
                    ))}
                  </ul>
                )}
            </section>
          </div>
        </>
      )}
      {error && <p class="notice error">{error}</p>}
    </div>
  );
}
