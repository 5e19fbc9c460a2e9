/**
 * JSON Schemas (from {@linkcode jsonSchemaOf}, i.e. zod's `z.toJSONSchema`)
 * read back into the rows of the reference page's tables: readable types,
 * limits in words, nested fields as dotted names.
 */
import type { JsonSchema } from "./openapi.ts";

/** One row of a parameter or body table. */
export interface SchemaField {
  /** Dotted path: `files[].name`, `invitedBy.userId`. */
  name: string;
  /** Readable type: `string`, `integer`, `array of string`, `"ack"`, `string | null`. */
  type: string;
  required: boolean;
  description: string;
  /** Limits in words: `1-64 characters`, `60 to 2592000`, `pattern ^[a-z]+$`, `default 50`. */
  constraints: string[];
}

function asSchema(value: unknown): JsonSchema | null {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as JsonSchema
    : null;
}

function variants(schema: JsonSchema): JsonSchema[] {
  const list = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  return Array.isArray(list) ? list.map(asSchema).filter((item) => item !== null) : [];
}

/**
 * A short readable type of a JSON Schema.
 *
 * @example
 * ```ts
 * describeType({ type: "array", items: { type: "string" } }); // "array of string"
 * describeType({ anyOf: [{ type: "string" }, { type: "null" }] }); // "string | null"
 * ```
 */
export function describeType(schema: JsonSchema): string {
  if ("const" in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) {
    return schema.enum.map((value) => JSON.stringify(value)).join(" | ");
  }
  const options = variants(schema);
  if (options.length) return [...new Set(options.map(describeType))].join(" | ");
  const type = schema.type;
  if (Array.isArray(type)) return type.join(" | ");
  if (type === "array") {
    const items = asSchema(schema.items);
    return items ? `array of ${describeType(items)}` : "array";
  }
  if (typeof type === "string") return type;
  return "any JSON";
}

/** 86400 → "86,400"; small numbers stay as they are. */
function formatNumber(value: unknown): string {
  return typeof value === "number" && Math.abs(value) >= 10_000
    ? value.toLocaleString("en-US")
    : String(value);
}

function range(min: unknown, max: unknown, unit: string): string | null {
  const hasMin = typeof min === "number";
  const hasMax = typeof max === "number";
  const suffix = (count: unknown) => !unit ? "" : ` ${count === 1 ? unit.replace(/s$/, "") : unit}`;
  const [low, high] = [formatNumber(min), formatNumber(max)];
  if (hasMin && hasMax) {
    return min === max ? `exactly ${low}${suffix(min)}` : `${low}-${high}${suffix(max)}`;
  }
  if (hasMin) return `at least ${low}${suffix(min)}`;
  if (hasMax) return `at most ${high}${suffix(max)}`;
  return null;
}

/** The limits a JSON Schema puts on a value, in words. */
export function describeConstraints(schema: JsonSchema): string[] {
  const out: string[] = [];
  const length = range(schema.minLength, schema.maxLength, "characters");
  if (length) out.push(length);
  // zod gives every integer the safe-integer bounds; those are no limit worth reading.
  const bound = (value: unknown) =>
    typeof value === "number" && Math.abs(value) !== Number.MAX_SAFE_INTEGER ? value : undefined;
  const number = range(bound(schema.minimum), bound(schema.maximum), "");
  if (number) out.push(number);
  const items = range(schema.minItems, schema.maxItems, "items");
  if (items) out.push(items);
  if (typeof schema.pattern === "string") out.push(`pattern ${schema.pattern}`);
  if (typeof schema.format === "string") out.push(`format ${schema.format}`);
  if ("default" in schema) out.push(`default ${JSON.stringify(schema.default)}`);
  return out;
}

const MAX_DEPTH = 3;

function collect(
  schema: JsonSchema,
  prefix: string,
  depth: number,
  notes: Readonly<Record<string, string>>,
  out: SchemaField[],
): void {
  const properties = asSchema(schema.properties);
  if (!properties) return;
  const required = new Set(Array.isArray(schema.required) ? schema.required as string[] : []);
  for (const [key, value] of Object.entries(properties)) {
    const property = asSchema(value) ?? {};
    const name = `${prefix}${key}`;
    out.push({
      name,
      type: describeType(property),
      required: required.has(key),
      description: typeof property.description === "string"
        ? property.description
        : notes[name] ?? "",
      constraints: describeConstraints(property),
    });
    if (depth >= MAX_DEPTH) continue;
    // Nested objects (directly, as array items, or as one variant of a union) get their own rows.
    const nested = [property, ...variants(property)];
    for (const candidate of nested) {
      const items = asSchema(candidate.items);
      if (asSchema(candidate.properties)) collect(candidate, `${name}.`, depth + 1, notes, out);
      else if (items && asSchema(items.properties)) {
        collect(items, `${name}[].`, depth + 1, notes, out);
      }
    }
  }
}

/**
 * Flattens an object schema into table rows, nested objects as dotted names.
 * `notes` supplies descriptions for fields whose schema has none.
 *
 * @example
 * ```ts
 * schemaFields({ type: "object", properties: { code: { type: "string" } }, required: ["code"] });
 * // [{ name: "code", type: "string", required: true, description: "", constraints: [] }]
 * ```
 */
export function schemaFields(
  schema: JsonSchema,
  notes: Readonly<Record<string, string>> = {},
): SchemaField[] {
  const out: SchemaField[] = [];
  collect(schema, "", 0, notes, out);
  return out;
}

/** True when the schema refuses fields it does not list (a `.strict()` zod object). */
export function isClosedObject(schema: JsonSchema): boolean {
  return schema.additionalProperties === false;
}
