/**
 * The API reference page (`/docs`): a server-rendered viewer of the OpenAPI
 * document, so the page and `/docs/openapi.json` can never disagree. No JS.
 */
import type { ComponentChildren } from "preact";
import {
  isClosedObject,
  type JsonSchema,
  type OpenApiDocument,
  type OpenApiOperation,
  type OpenApiParameter,
  schemaFields,
} from "../lib/api_docs/mod.ts";
import { Layout } from "./Layout.tsx";

/** A guide of `docs/` that the reference links to. */
export interface GuideLink {
  name: string;
  title: string;
}

/** Props of {@linkcode ApiReference}. */
export interface ApiReferenceProps {
  document: OpenApiDocument;
  /** The setup block of docs/api.md that defines the examples' variables. */
  setup: string | null;
  /** A line on where the examples' variables come from. */
  setupNote: string;
  guides: GuideLink[];
  /** Tag → the guide that explains it. */
  tagGuides: Record<string, string>;
}

const AUTH_LABELS: Record<string, { label: string; how: string }> = {
  none: { label: "None", how: "Anyone; the per-address rate limit applies." },
  api_key: { label: "API key", how: "`Authorization: Bearer <API key>`: for backends only." },
  user_token: {
    label: "User token",
    how: "`Authorization: Bearer <token>` from `POST /api/tokens` or `POST /api/auth/guest`.",
  },
  stream_token: {
    label: "Stream token",
    how: "`?token=` with a single-use stream token (or a user token), or `Authorization: Bearer`.",
  },
  delete_token: {
    label: "Delete token",
    how: "`X-Delete-Token: <deleteToken>` from the upload's answer.",
  },
  transfer_token: {
    label: "Transfer token",
    how: "The session's `senderToken` or `receiverToken`, as a body field, query parameter or " +
      "`Authorization: Bearer` header.",
  },
  metrics_token: {
    label: "Metrics token",
    how: "`Authorization: Bearer <METRICS_TOKEN>`: for the Prometheus scraper.",
  },
};

const TRANSPORT_LABELS: Record<string, string> = { websocket: "WebSocket", sse: "SSE" };

/** Renders text with `backtick` spans as code. */
function Text(props: { text: string }) {
  const parts = props.text.split("`");
  return <>{parts.map((part, index) => index % 2 === 1 ? <code key={index}>{part}</code> : part)}
  </>;
}

/** Anchor id of a tag's section. */
function tagId(tag: string): string {
  return `tag-${tag.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
}

function MethodBadge(props: { method: string; small?: boolean }) {
  const method = props.method.toUpperCase();
  return (
    <span class={`method method-${method.toLowerCase()}${props.small ? " small" : ""}`}>
      {method}
    </span>
  );
}

interface Entry {
  method: string;
  path: string;
  operation: OpenApiOperation;
}

function entriesByTag(document: OpenApiDocument): Map<string, Entry[]> {
  const byTag = new Map<string, Entry[]>(document.tags.map((tag) => [tag.name, []]));
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!operation) continue;
      const tag = operation.tags[0] ?? "Other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ method, path, operation });
    }
  }
  return byTag;
}

function Constraints(props: { items: string[] }) {
  if (!props.items.length) return null;
  return (
    <span class="constraints">
      {props.items.map((item) => <span key={item}>{item}</span>)}
    </span>
  );
}

function Required(props: { required: boolean }) {
  return props.required
    ? <span class="required">required</span>
    : <span class="optional">optional</span>;
}

function FieldTable(props: { schema: JsonSchema; notes: Record<string, string>; skip?: string[] }) {
  const rows = schemaFields(props.schema, props.notes).filter((row) =>
    !(props.skip ?? []).includes(row.name)
  );
  if (!rows.length) return <p class="muted small">No fields.</p>;
  const described = rows.some((row) => row.description || row.constraints.length);
  return (
    <div class="table-scroll">
      <table class="schema-table">
        <thead>
          <tr>
            <th>Field</th>
            <th>Type</th>
            {described && <th>Description</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.name}>
              <td>
                <code class="field-name">{row.name}</code>
                <Required required={row.required} />
              </td>
              <td>
                <code class="field-type">{row.type}</code>
              </td>
              {described && (
                <td>
                  <Text text={row.description} />
                  <Constraints items={row.constraints} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function describeParameterSchema(parameter: OpenApiParameter): JsonSchema {
  return {
    type: "object",
    properties: {
      [parameter.name]: {
        ...parameter.schema,
        ...(parameter.description ? { description: parameter.description } : {}),
      },
    },
    required: parameter.required ? [parameter.name] : [],
  };
}

function Parameters(props: { parameters: OpenApiParameter[] }) {
  if (!props.parameters.length) return null;
  return (
    <section class="endpoint-part">
      <h4>Parameters</h4>
      <div class="table-scroll">
        <table class="schema-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>In</th>
              <th>Type</th>
              <th>Description</th>
            </tr>
          </thead>
          <tbody>
            {props.parameters.map((parameter) => {
              const [row] = schemaFields(describeParameterSchema(parameter));
              return (
                <tr key={`${parameter.in}:${parameter.name}`}>
                  <td>
                    <code class="field-name">{parameter.name}</code>
                    <Required required={parameter.required} />
                  </td>
                  <td class="muted">{parameter.in}</td>
                  <td>
                    <code class="field-type">{row?.type ?? "string"}</code>
                  </td>
                  <td>
                    <Text text={row?.description ?? ""} />
                    <Constraints items={row?.constraints ?? []} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function RequestBody(props: { operation: OpenApiOperation }) {
  const body = props.operation.requestBody;
  if (!body) return null;
  const notes = props.operation["x-switchboard-notes"] ?? {};
  const json = body.content["application/json"]?.schema;
  return (
    <section class="endpoint-part">
      <h4>
        Body <span class="muted small">{Object.keys(body.content).join(" or ")}</span>
      </h4>
      {body.description && (
        <p>
          <Text text={body.description} />
        </p>
      )}
      {json && <FieldTable schema={json} notes={notes} />}
      {json && isClosedObject(json) && (
        <p class="muted small">
          Other fields are refused with <code>400 invalid_request</code>.
        </p>
      )}
    </section>
  );
}

function Variants(props: { operation: OpenApiOperation }) {
  const variants = props.operation["x-switchboard-variants"];
  if (!variants) return null;
  return (
    <section class="endpoint-part">
      <h4>
        <code>{variants.field}</code> by <code>{variants.discriminator}</code>
      </h4>
      {variants.description && (
        <p class="muted small">
          <Text text={variants.description} />
        </p>
      )}
      <div class="variants">
        {Object.entries(variants.schemas).map(([value, schema]) => (
          <details class="variant" key={value}>
            <summary>
              <code>{value}</code>
            </summary>
            <FieldTable schema={schema} notes={{}} />
          </details>
        ))}
      </div>
    </section>
  );
}

function Frames(props: { operation: OpenApiOperation }) {
  const frames = props.operation["x-switchboard-frames"];
  const server = props.operation["x-switchboard-server-frames"];
  if (!frames && !server) return null;
  const isSocket = props.operation["x-switchboard-transport"] === "websocket";
  return (
    <>
      {frames && (
        <section class="endpoint-part">
          <h4>Client frames</h4>
          <p class="muted small">
            JSON text frames with a <code>type</code>; <code>{'{"type":"ping"}'}</code> always gets
            {" "}
            <code>{'{"type":"pong"}'}</code>. A frame that does not match gets an <code>error</code>
            {" "}
            frame; the connection stays open.
          </p>
          {Object.entries(frames).map(([type, schema]) => (
            <div class="frame" key={type}>
              <h5>
                <code class="frame-type">{type}</code>
              </h5>
              <FieldTable schema={schema} notes={{}} skip={["type"]} />
            </div>
          ))}
        </section>
      )}
      {server && (
        <section class="endpoint-part">
          <h4>{isSocket ? "Server frames" : "Events"}</h4>
          <dl class="frame-list">
            {Object.entries(server).map(([type, meaning]) => (
              <div key={type}>
                <dt>
                  <code>{type}</code>
                </dt>
                <dd>
                  <Text text={meaning} />
                </dd>
              </div>
            ))}
          </dl>
        </section>
      )}
    </>
  );
}

function statusClass(status: string): string {
  const code = Number(status);
  if (code >= 500) return "status status-5xx";
  if (code >= 400) return "status status-4xx";
  return "status status-2xx";
}

function Responses(props: { operation: OpenApiOperation }) {
  const errors = props.operation["x-switchboard-errors"];
  return (
    <section class="endpoint-part">
      <h4>Responses</h4>
      <ul class="responses">
        {Object.entries(props.operation.responses).map(([status, response]) => (
          <li key={status}>
            <span class={statusClass(status)}>{status}</span>
            <span>
              <Text text={response.description} />
            </span>
          </li>
        ))}
      </ul>
      {errors.length > 0 && (
        <p class="error-codes">
          <span class="muted small">Error codes:</span>
          {errors.map((code) => (
            <a class="error-chip" key={code} href={`#error-${code}`}>
              {code}
            </a>
          ))}
        </p>
      )}
    </section>
  );
}

function Endpoint(props: { entry: Entry; guides: ReadonlySet<string> }) {
  const { method, path, operation } = props.entry;
  const auth = AUTH_LABELS[operation["x-switchboard-auth"]];
  const transport = TRANSPORT_LABELS[operation["x-switchboard-transport"]];
  const example = operation["x-codeSamples"]?.[0]?.source;
  // Only guides that exist on this server (some are written after their endpoints).
  const guides = (operation["x-switchboard-guides"] ?? []).filter((name) => props.guides.has(name));
  return (
    <article class="endpoint" id={operation.operationId}>
      <header class="endpoint-head">
        <MethodBadge method={method} />
        <code class="endpoint-path">{path}</code>
        {transport && <span class="badge transport">{transport}</span>}
      </header>
      <h3 class="endpoint-summary">
        <a href={`#${operation.operationId}`}>{operation.summary}</a>
      </h3>
      <p>
        <Text text={operation.description} />
      </p>
      <p class="auth-line">
        <span class="auth-label">Auth</span>
        <a class="auth-chip" href={`#auth-${operation["x-switchboard-auth"]}`}>
          {auth?.label ?? operation["x-switchboard-auth"]}
        </a>
        {guides.length > 0 && (
          <span class="guide-links">
            <span class="auth-label">Guide</span>
            {guides.map((name) => (
              <a key={name} href={`/docs/guides/${name}`}>{name.replace("_", " ")}</a>
            ))}
          </span>
        )}
      </p>
      <Parameters parameters={operation.parameters} />
      <RequestBody operation={operation} />
      <Variants operation={operation} />
      <Frames operation={operation} />
      <Responses operation={operation} />
      {example && (
        <section class="endpoint-part">
          <h4>Example</h4>
          <pre class="example"><code>{example}</code></pre>
        </section>
      )}
    </article>
  );
}

function Sidebar(props: { byTag: Map<string, Entry[]> }) {
  return (
    <nav class="docs-nav" aria-label="API reference">
      <a class="docs-nav-title" href="#start">Getting started</a>
      <a class="docs-nav-title" href="#authentication">Authentication</a>
      {[...props.byTag].map(([tag, entries]) => (
        <div class="docs-nav-group" key={tag}>
          <a class="docs-nav-title" href={`#${tagId(tag)}`}>{tag}</a>
          <ul class="docs-nav-endpoints">
            {entries.map((entry) => (
              <li key={entry.operation.operationId}>
                <a href={`#${entry.operation.operationId}`}>
                  <MethodBadge method={entry.method} small />
                  <span>{entry.operation.summary}</span>
                </a>
              </li>
            ))}
          </ul>
        </div>
      ))}
      <a class="docs-nav-title" href="#errors">Error codes</a>
      <a class="docs-nav-title" href="#guides">Guides</a>
    </nav>
  );
}

function Section(props: { id: string; title: string; children: ComponentChildren }) {
  return (
    <section class="docs-section" id={props.id}>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

/** The whole `/docs` page. */
export function ApiReference(props: ApiReferenceProps) {
  const { document } = props;
  const byTag = entriesByTag(document);
  const guideNames = new Set(props.guides.map((guide) => guide.name));
  const count = [...byTag.values()].reduce((sum, entries) => sum + entries.length, 0);
  const undocumented = document["x-switchboard-undocumented"];
  const usedAuth = new Set<string>(
    [...byTag.values()].flat().map((entry) => entry.operation["x-switchboard-auth"]),
  );
  const errorCodes = Object.entries(document["x-switchboard-error-codes"]).sort(([a], [b]) =>
    a.localeCompare(b)
  );
  return (
    <Layout current="/docs" bell={false}>
      <section class="hero compact docs-hero">
        <p class="eyebrow">API reference · OpenAPI {document.openapi}</p>
        <h1>{document.info.title}</h1>
        <p class="lead">
          {count}{" "}
          HTTP, SSE and WebSocket endpoints for live transfer, link mode, notifications and chat.
          Every parameter, body and frame table below is generated from the zod schemas the server
          validates with, and every example runs in the test suite.
        </p>
        <p class="actions">
          <a class="button primary" href="/docs/openapi.json">OpenAPI JSON</a>
          <a class="button" href="/docs/guides/api">HTTP API tour</a>
          <a class="button" href="/docs/guides/protocol">Realtime protocol</a>
        </p>
      </section>
      {undocumented.length > 0 && (
        <p class="notice warn">
          Routes without documentation: {undocumented.join(", ")}
        </p>
      )}
      <div class="docs-layout">
        <Sidebar byTag={byTag} />
        <div class="docs-content">
          <Section id="start" title="Getting started">
            <p>
              Base URL{" "}
              <code>{document.servers[0]?.url}</code>. Requests and answers are JSON; every error is
              {" "}
              <code>{'{"error": {"code": "snake_case", "message": "…"}}'}</code>{" "}
              with the right status. <Text text={props.setupNote} />
            </p>
            {props.setup && <pre class="example"><code>{props.setup}</code></pre>}
          </Section>
          <Section id="authentication" title="Authentication">
            <div class="table-scroll">
              <table class="schema-table">
                <thead>
                  <tr>
                    <th>Kind</th>
                    <th>How to send it</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(AUTH_LABELS).filter(([kind]) => usedAuth.has(kind)).map((
                    [kind, auth],
                  ) => (
                    <tr id={`auth-${kind}`} key={kind}>
                      <td>
                        <strong>{auth.label}</strong>
                      </td>
                      <td>
                        <Text text={auth.how} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Section>
          {[...byTag].map(([tag, entries]) => {
            const info = document.tags.find((item) => item.name === tag);
            const guide = props.tagGuides[tag];
            const guideTitle = props.guides.find((item) => item.name === guide)?.title;
            return (
              <section class="docs-section docs-tag" id={tagId(tag)} key={tag}>
                <h2>{tag}</h2>
                {info?.description && (
                  <p class="tag-description">
                    <Text text={info.description} />
                    {guideTitle && (
                      <>
                        {" "}
                        <a href={`/docs/guides/${guide}`}>Read the guide: {guideTitle} →</a>
                      </>
                    )}
                  </p>
                )}
                {entries.map((entry) => (
                  <Endpoint key={entry.operation.operationId} entry={entry} guides={guideNames} />
                ))}
              </section>
            );
          })}
          <Section id="errors" title="Error codes">
            <div class="table-scroll">
              <table class="schema-table">
                <thead>
                  <tr>
                    <th>Code</th>
                    <th>Status</th>
                    <th>Meaning</th>
                  </tr>
                </thead>
                <tbody>
                  {errorCodes.map(([code, info]) => (
                    <tr id={`error-${code}`} key={code}>
                      <td>
                        <code class="field-name">{code}</code>
                      </td>
                      <td>
                        <span class={statusClass(String(info.status))}>{info.status}</span>
                      </td>
                      <td>
                        <Text text={info.description} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Section>
          <Section id="guides" title="Guides">
            <div class="guide-grid">
              {props.guides.map((guide) => (
                <a class="guide-card" key={guide.name} href={`/docs/guides/${guide.name}`}>
                  <strong>{guide.title}</strong>
                  <span class="muted small">docs/{guide.name}.md</span>
                </a>
              ))}
            </div>
          </Section>
        </div>
      </div>
    </Layout>
  );
}

/** A guide (`/docs/guides/:name`): its rendered Markdown with a contents list. */
export function GuidePage(props: {
  title: string;
  name: string;
  html: string;
  headings: { id: string; text: string }[];
  guides: GuideLink[];
}) {
  return (
    <Layout current="/docs" bell={false}>
      <p class="breadcrumbs">
        <a href="/docs">API reference</a> <span aria-hidden="true">/</span>{" "}
        <a href="/docs#guides">Guides</a> <span aria-hidden="true">/</span>{" "}
        <span>{props.title}</span>
      </p>
      <div class="docs-layout">
        <nav class="docs-nav guide-nav" aria-label="Guide">
          {props.headings.length > 0 && (
            <div class="docs-nav-group">
              <span class="docs-nav-title">On this page</span>
              <ul class="docs-nav-endpoints plain">
                {props.headings.map((heading) => (
                  <li key={heading.id}>
                    <a href={`#${heading.id}`}>{heading.text}</a>
                  </li>
                ))}
              </ul>
            </div>
          )}
          <div class="docs-nav-group">
            <span class="docs-nav-title">Guides</span>
            <ul class="docs-nav-endpoints plain">
              {props.guides.map((guide) => (
                <li key={guide.name}>
                  <a
                    href={`/docs/guides/${guide.name}`}
                    aria-current={guide.name === props.name ? "page" : undefined}
                  >
                    {guide.title}
                  </a>
                </li>
              ))}
            </ul>
          </div>
        </nav>
        <article class="docs-content prose" dangerouslySetInnerHTML={{ __html: props.html }} />
      </div>
    </Layout>
  );
}
