/**
 * @module
 * Tracing with Deno's built-in OpenTelemetry. With `OTEL_DENO=true` Deno
 * registers the providers, traces every request and `fetch`, and exports over
 * OTLP (`OTEL_EXPORTER_OTLP_ENDPOINT`); Switchboard adds spans around publish
 * and delivery. Without it the API is a no-op.
 */
import {
  type Attributes,
  INVALID_SPAN_CONTEXT,
  type Span,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

const tracer = trace.getTracer("switchboard", "1");

/**
 * Whether Deno exports traces (`OTEL_DENO=true`). Without it the spans below are
 * skipped altogether: even a no-op span costs a context switch per publish and
 * per delivery, which fan-out to thousands of sockets pays thousands of times.
 */
const TRACING = (() => {
  try {
    return Deno.env.get("OTEL_DENO") === "true";
  } catch {
    return false;
  }
})();

/** The span given to work while tracing is off. */
const NO_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Runs `work` inside a span named `name`; errors are recorded on the span and rethrown. */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  if (!TRACING) return await work(NO_SPAN);
  return await tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Whether spans are recorded at all (callers skip building attributes when not). */
export function tracingEnabled(): boolean {
  return TRACING;
}

/** Records a finished piece of work that took no time of its own (e.g. one delivery). */
export function recordSpan(name: string, attributes: Attributes): void {
  if (TRACING) tracer.startSpan(name, { attributes }).end();
}

const SENSITIVE_QUERY = /^(token|access_token|api_key|key|secret)$/i;

/**
 * Deno's automatic `Deno.serve` span records `url.full` and `url.query`, and
 * stream URLs carry `?token=`: overwrite both on the request's span with the
 * token values replaced, so tokens never reach a tracing backend.
 */
export function redactRequestSpan(request: Request): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  const url = new URL(request.url);
  if (!url.search) return;
  let changed = false;
  for (const name of [...url.searchParams.keys()]) {
    if (SENSITIVE_QUERY.test(name)) {
      url.searchParams.set(name, "REDACTED");
      changed = true;
    }
  }
  if (!changed) return;
  span.setAttribute("url.full", url.href);
  span.setAttribute("url.query", url.search.slice(1));
}
