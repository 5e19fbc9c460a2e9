import assert from "node:assert/strict";
import { z } from "zod";
import { describeConstraints, describeType, isClosedObject, schemaFields } from "./schema_table.ts";
import { jsonSchemaOf } from "./openapi.ts";

const inputJsonSchema = (schema: z.ZodType) => jsonSchemaOf(schema, "input");

Deno.test('jsonSchemaOf(schema, "input") describes what a schema accepts: defaults optional, coercions typed', () => {
  const schema = inputJsonSchema(
    z.object({
      before: z.string().min(1).max(64).optional(),
      limit: z.coerce.number().int().min(1).max(100).default(20),
      mode: z.enum(["a", "b"]),
    }).strict(),
  );
  assert.equal(schema.$schema, undefined);
  assert.deepEqual(schema.required, ["mode"]);
  assert.deepEqual((schema.properties as Record<string, unknown>).limit, {
    default: 20,
    type: "integer",
    minimum: 1,
    maximum: 100,
  });
  assert.equal(isClosedObject(schema), true);
});

Deno.test('jsonSchemaOf(schema, "input") leaves refinements and unknown values open instead of failing', () => {
  const schema = inputJsonSchema(z.object({
    data: z.unknown().refine((value) => value !== undefined, "data is required"),
    when: z.date(),
  }));
  const properties = schema.properties as Record<string, Record<string, unknown>>;
  assert.deepEqual(properties.data, {});
  assert.deepEqual(properties.when, {});
});

Deno.test("describeType() reads arrays, unions, enums and constants", () => {
  assert.equal(describeType({ type: "array", items: { type: "string" } }), "array of string");
  assert.equal(describeType({ anyOf: [{ type: "string" }, { type: "null" }] }), "string | null");
  assert.equal(
    describeType({ type: "string", enum: ["creator", "joiner"] }),
    '"creator" | "joiner"',
  );
  assert.equal(describeType({ type: "string", const: "ack" }), '"ack"');
  assert.equal(describeType({}), "any JSON");
});

Deno.test("schemaFields() flattens nested objects and arrays of objects into dotted rows", () => {
  const schema = inputJsonSchema(z.object({
    files: z.array(z.object({ name: z.string().min(1).max(255), size: z.number().int().min(0) }))
      .max(100).optional(),
    owner: z.object({ userId: z.string().describe("Who owns it") }),
    ttlSeconds: z.number().int().min(1).max(86400).optional(),
  }));
  const rows = schemaFields(schema, { "files[].size": "Bytes" });
  assert.deepEqual(rows.map((row) => row.name), [
    "files",
    "files[].name",
    "files[].size",
    "owner",
    "owner.userId",
    "ttlSeconds",
  ]);
  const byName = new Map(rows.map((row) => [row.name, row]));
  assert.equal(byName.get("files")?.type, "array of object");
  assert.deepEqual(byName.get("files")?.constraints, ["at most 100 items"]);
  assert.deepEqual(byName.get("files[].name")?.constraints, ["1-255 characters"]);
  assert.equal(byName.get("files[].name")?.required, true);
  assert.equal(byName.get("files[].size")?.description, "Bytes");
  // The safe-integer bound zod adds to every integer is not a limit worth showing.
  assert.deepEqual(byName.get("files[].size")?.constraints, ["at least 0"]);
  assert.equal(byName.get("owner.userId")?.description, "Who owns it");
  assert.deepEqual(byName.get("ttlSeconds")?.constraints, ["1-86,400"]);
  assert.equal(byName.get("ttlSeconds")?.required, false);
});

Deno.test("schemaFields() shows the object variant of a union and patterns", () => {
  const schema = inputJsonSchema(z.object({
    offer: z.union([z.string(), z.object({ type: z.enum(["offer"]), sdp: z.string().optional() })]),
    id: z.string().regex(/^[a-z]+$/),
  }));
  const rows = schemaFields(schema);
  assert.deepEqual(rows.map((row) => row.name), ["offer", "offer.type", "offer.sdp", "id"]);
  assert.equal(rows[0]?.type, "string | object");
  assert.deepEqual(rows[3]?.constraints, ["pattern ^[a-z]+$"]);
});

Deno.test("describeConstraints() words limits, singular for one", () => {
  assert.deepEqual(describeConstraints({ minItems: 1 }), ["at least 1 item"]);
  assert.deepEqual(describeConstraints({ minLength: 1, maxLength: 1 }), ["exactly 1 character"]);
  assert.deepEqual(describeConstraints({ maxItems: 100, default: [] }), [
    "at most 100 items",
    "default []",
  ]);
});
