import type { z } from "zod";
import { describeIssues } from "../errors/mod.ts";
import { JsonDepthError, parseJson } from "../json/mod.ts";
import { TRANSPORT_ERRORS } from "./close_codes.ts";

/** Inbound frame schemas by `type`; each schema validates the whole frame. */
export type FrameSchemas<F> = Record<string, z.ZodType<F>>;

/** The result of reading one inbound text frame. */
export type ParsedFrame<F> =
  | { ok: true; frame: F }
  | { ok: false; code: keyof typeof TRANSPORT_ERRORS; message: string };

/**
 * Parses and validates a text frame: JSON (nesting at most `MAX_JSON_DEPTH`
 * levels, see `lib/json`), then a known `type`, then its schema.
 */
export function parseFrame<F>(text: string, schemas: FrameSchemas<F>): ParsedFrame<F> {
  let raw: unknown;
  try {
    raw = parseJson(text);
  } catch (error) {
    const message = error instanceof JsonDepthError
      ? `The frame nests objects and arrays deeper than ${error.maxDepth} levels`
      : TRANSPORT_ERRORS.invalid_json;
    return { ok: false, code: "invalid_json", message };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, code: "invalid_frame", message: "A frame is a JSON object with a type" };
  }
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== "string") {
    return { ok: false, code: "invalid_frame", message: "The frame has no string type" };
  }
  const schema = Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (!schema) {
    return {
      ok: false,
      code: "unknown_type",
      message: `Unknown frame type "${type.slice(0, 40)}"; expected one of: ${
        Object.keys(schemas).join(", ")
      }`,
    };
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    return { ok: false, code: "invalid_frame", message: describeIssues(result.error.issues) };
  }
  return { ok: true, frame: result.data };
}
