/**
 * @module
 * Tracing with Deno's built-in OpenTelemetry. With `OTEL_DENO=true` Deno
 * registers the providers and exports over OTLP (`OTEL_EXPORTER_OTLP_ENDPOINT`);
 * Switchboard exports its own request spans and adds spans around publish and
 * delivery. Without it the API is a no-op.
 *
 * Deno's automatic `Deno.serve` span records the request's full URL
 * (`url.full`, `url.query`), and stream and link URLs carry tokens
 * (`?token=`, `?deleteToken=`). A span attribute cannot be taken back (setting
 * it again adds a second copy next to the first), so that span must never be
 * exported: Switchboard runs with {@linkcode TRACING_ENVIRONMENT} (root spans
 * not sampled, incoming trace context not followed by Deno) and refuses to
 * start without it ({@linkcode tracingProblem}). It exports instead its own
 * request span ({@linkcode traceRequest}): the route pattern, never the path
 * (paths carry upload ids), and the query redacted by `lib/redaction`, the
 * list the logs use too.
 */
import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  defaultTextMapGetter,
  type Exception,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
} from "@opentelemetry/api";
import { isSensitiveName, REDACTED, redactQuery, redactText } from "../redaction/mod.ts";

const tracer = trace.getTracer("switchboard", "1");

/**
 * The OpenTelemetry settings Switchboard needs from the process environment
 * (Deno reads them when the process starts): root spans are not sampled, so
 * Deno's request span, which carries the raw URL, is dropped; and Deno does not
 * follow an incoming `traceparent`, which would sample that span again.
 * Switchboard's own spans start from a sampled parent of their own (the
 * incoming `traceparent` when there is one), so they are exported.
 * `deno task start` and the test harness set these unless told otherwise.
 */
export const TRACING_ENVIRONMENT = {
  OTEL_TRACES_SAMPLER: "parentbased_always_off",
  OTEL_PROPAGATORS: "none",
} as const;

/**
 * Whether Deno records spans at all (`OTEL_DENO=true`, or `OTEL_DENO_TRACING`).
 * Asked of the tracer itself rather than of the environment, so every way of
 * turning tracing on counts. Without it the spans below are skipped
 * altogether: even a no-op span costs a context switch per publish and per
 * delivery, which fan-out to thousands of sockets pays thousands of times.
 */
const TRACING = (() => {
  const probe = tracer.startSpan("switchboard.tracing_probe");
  const recording = probe.isRecording();
  probe.end();
  return recording;
})();

/** The span given to work while tracing is off. */
const NO_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Marks a context as inside a trace Switchboard started (its spans are the ones exported). */
const SWITCHBOARD_TRACE = createContextKey("switchboard.trace");

const SAFE_SAMPLERS = new Set(["parentbased_always_off", "always_off"]);

/**
 * Why tracing as configured would export raw request URLs (and the tokens in
 * them), or null when it is off or safe. `env` is the process environment.
 * Checked at start: the server refuses to run rather than leak.
 */
export function tracingProblem(env: Record<string, string | undefined>): string | null {
  if (!TRACING) return null;
  const problems: string[] = [];
  const sampler = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() ?? "";
  if (!SAFE_SAMPLERS.has(sampler)) {
    problems.push(
      `OTEL_TRACES_SAMPLER=${sampler || "(unset: parentbased_always_on)"} exports Deno's request ` +
        "span of every request",
    );
  }
  // Deno's propagators also take a traceparent, and a sampled one makes Deno's span exported.
  const follows = trace.getSpanContext(
    propagation.extract(
      ROOT_CONTEXT,
      { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
      defaultTextMapGetter,
    ),
  );
  const propagators = env.OTEL_PROPAGATORS?.split(",").map((name) => name.trim()) ?? [];
  if (follows || !propagators.length || propagators.some((name) => name !== "none")) {
    problems.push(
      `OTEL_PROPAGATORS=${env.OTEL_PROPAGATORS || "(unset: tracecontext,baggage)"} exports ` +
        "Deno's request span of every request that sends a sampled traceparent",
    );
  }
  if (!problems.length) return null;
  return `Tracing is on, and ${problems.join("; ")}: that span holds the full request URL, ` +
    "tokens in its query included. Set " +
    Object.entries(TRACING_ENVIRONMENT).map(([name, value]) => `${name}=${value}`).join(" ") +
    " (deno task start does): Switchboard then exports its own request spans, with the " +
    "route instead of the path and the query redacted, and still continues incoming traces.";
}

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
}

/**
 * The parent of a trace Switchboard exports: the caller's (`traceparent`,
 * with its sampling decision), or else a sampled remote parent made up here.
 * Root spans are not sampled (see {@linkcode TRACING_ENVIRONMENT}), so a
 * Switchboard trace needs one; backends show its id as a parent they never
 * received.
 */
function traceParent(incoming: SpanContext | undefined): Context {
  const parent = incoming ?? {
    traceId: randomHex(16),
    spanId: randomHex(8),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  };
  return trace.setSpanContext(ROOT_CONTEXT, parent).setValue(SWITCHBOARD_TRACE, true);
}

/** The active context if it is inside a Switchboard trace, else the start of a new one. */
function currentTrace(): Context {
  const active = context.active();
  return active.getValue(SWITCHBOARD_TRACE) ? active : traceParent(undefined);
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/;

/** The W3C `traceparent` a caller sent, if it is valid. */
function incomingParent(header: string | null): SpanContext | undefined {
  const match = TRACEPARENT.exec(header?.trim().toLowerCase() ?? "");
  if (!match || match[1] === "ff") return undefined;
  const parent: SpanContext = {
    traceId: match[2]!,
    spanId: match[3]!,
    traceFlags: Number.parseInt(match[4]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(parent) ? parent : undefined;
}

/** Attributes with sensitive names blanked and token-shaped strings masked. */
function safeAttributes(attributes: Attributes): Attributes {
  const safe: Attributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    safe[name] = isSensitiveName(name)
      ? REDACTED
      : typeof value === "string"
      ? redactText(value)
      : value;
  }
  return safe;
}

/** An error as a span event, its message and stack masked like a log line. */
function safeException(error: unknown): Exception {
  if (!(error instanceof Error)) return redactText(String(error));
  return {
    name: error.name,
    message: redactText(error.message),
    ...(error.stack ? { stack: redactText(error.stack) } : {}),
  };
}

/** Runs `work` inside a span named `name`; errors are recorded on the span and rethrown. */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  if (!TRACING) return await work(NO_SPAN);
  return await tracer.startActiveSpan(
    name,
    { attributes: safeAttributes(attributes) },
    currentTrace(),
    async (span) => {
      try {
        return await work(span);
      } catch (error) {
        span.recordException(safeException(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** Whether spans are recorded at all (callers skip building attributes when not). */
export function tracingEnabled(): boolean {
  return TRACING;
}

/** Records a finished piece of work that took no time of its own (e.g. one delivery). */
export function recordSpan(name: string, attributes: Attributes): void {
  if (TRACING) {
    tracer.startSpan(name, { attributes: safeAttributes(attributes) }, currentTrace()).end();
  }
}

/** How a traced request was answered. */
export interface RequestOutcome {
  /** The route pattern that answered (`/api/download/:id`), never the concrete path. */
  route: string;
  status: number;
}

/**
 * Runs `handle` inside Switchboard's span for `request` (kind server, named
 * `<method> <route>`), the request span that is exported in place of Deno's:
 * `http.request.method`, `http.route`, `url.scheme`, `url.query` with secret
 * parameters redacted (no `url.full`, no `url.path`), and the status. It
 * continues the caller's trace when the request carries a `traceparent`.
 */
export async function traceRequest(
  request: Request,
  handle: () => Promise<RequestOutcome>,
): Promise<void> {
  if (!TRACING) {
    await handle();
    return;
  }
  const url = new URL(request.url);
  const parent = traceParent(incomingParent(request.headers.get("traceparent")));
  const attributes: Attributes = {
    "http.request.method": request.method,
    "url.scheme": url.protocol.slice(0, -1),
  };
  if (url.search.length > 1) attributes["url.query"] = redactQuery(url.search);
  const span = tracer.startSpan(request.method, { kind: SpanKind.SERVER, attributes }, parent);
  try {
    const { route, status } = await context.with(trace.setSpan(parent, span), handle);
    span.updateName(`${request.method} ${route}`);
    span.setAttribute("http.route", route);
    span.setAttribute("http.response.status_code", status);
    if (status >= 500) {
      span.setAttribute("error.type", String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  } catch (error) {
    span.recordException(safeException(error));
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}
