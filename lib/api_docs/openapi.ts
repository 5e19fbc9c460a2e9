import { z } from "zod";
import type { AuthKind, EndpointDoc, ErrorCodeDoc, HttpMethod, Transport } from "./endpoint.ts";
import { type RegisteredRoute, routeCoverage } from "./coverage.ts";

/** A JSON Schema (draft 2020-12, as zod writes it), as plain data. */
export type JsonSchema = { [key: string]: unknown };

/**
 * zod's own JSON Schema of a schema: of what it accepts (`input`: defaults make
 * fields optional, coercions show their target type) or of what it gives
 * (`output`, for responses). Parts JSON Schema cannot say (refinements,
 * transforms) are left open rather than failing.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * jsonSchemaOf(z.object({ limit: z.coerce.number().int().default(20) }), "input");
 * // { type: "object", properties: { limit: { type: "integer", default: 20 } } }
 * ```
 */
export function jsonSchemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const json = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
  delete json.$schema;
  return json;
}

const inputJsonSchema = (schema: z.ZodType): JsonSchema => jsonSchemaOf(schema, "input");

/** An OpenAPI parameter (path, query or header). */
export interface OpenApiParameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

/** A response of an operation. */
export interface OpenApiResponse {
  description: string;
  content?: Record<string, { schema: JsonSchema }>;
}

/** One operation, with Switchboard's extensions. */
export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description: string;
  tags: string[];
  security: Record<string, string[]>[];
  parameters: OpenApiParameter[];
  requestBody?: {
    required: boolean;
    description?: string;
    content: Record<string, { schema: JsonSchema }>;
  };
  responses: Record<string, OpenApiResponse>;
  "x-switchboard-auth": AuthKind;
  "x-switchboard-transport": Transport;
  "x-switchboard-errors": string[];
  /** A body field's schema by the value of another field (`data` by `type`). */
  "x-switchboard-variants"?: {
    field: string;
    discriminator: string;
    description?: string;
    schemas: Record<string, JsonSchema>;
  };
  /** Inbound WebSocket frames: `type` → JSON Schema of the whole frame. */
  "x-switchboard-frames"?: Record<string, JsonSchema>;
  /** What the server sends: frame or event type → meaning. */
  "x-switchboard-server-frames"?: Record<string, string>;
  /** Fields of body and query schemas described in words (those without `.describe()`). */
  "x-switchboard-notes"?: Record<string, string>;
  "x-switchboard-guides"?: string[];
  "x-codeSamples"?: { lang: string; label: string; source: string }[];
}

/** An OpenAPI 3.1 document as {@linkcode buildOpenApi} writes it. */
export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description?: string };
  servers: { url: string }[];
  tags: { name: string; description?: string }[];
  paths: Record<string, Partial<Record<Lowercase<HttpMethod>, OpenApiOperation>>>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<string, JsonSchema>;
  };
  /** Every documented error code with its status and meaning. */
  "x-switchboard-error-codes": Record<string, ErrorCodeDoc>;
  /** Registered routes no endpoint describes (`METHOD /path`); kept empty by a test. */
  "x-switchboard-undocumented": string[];
  /** Documented endpoints no route serves (`METHOD /path`); kept empty by a test. */
  "x-switchboard-unregistered": string[];
}

/** Options of {@linkcode buildOpenApi}. */
export interface OpenApiOptions {
  title: string;
  version: string;
  /** The origin clients call, e.g. `https://sb.example`. */
  serverUrl: string;
  description?: string;
  /** Tags in page order, with a line each; tags used but not listed follow in catalog order. */
  tags?: { name: string; description: string }[];
  /** The error code registry. */
  errorCodes?: Record<string, ErrorCodeDoc>;
  /** The router's routes: when given, the document lists what the catalog misses. */
  registeredRoutes?: readonly RegisteredRoute[];
  /** Which registered paths must be documented (default: all). */
  include?: (path: string) => boolean;
}

const SECURITY_SCHEMES: Record<string, JsonSchema> = {
  apiKey: {
    type: "http",
    scheme: "bearer",
    description: "The server's API key (`SWITCHBOARD_API_KEY`), for backends.",
  },
  userToken: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A user token (`POST /api/tokens`) or guest token (`POST /api/auth/guest`).",
  },
  streamToken: {
    type: "apiKey",
    in: "query",
    name: "token",
    description: "A single-use stream token (≤ 60 s) or a user token; " +
      "`Authorization: Bearer` works too for clients that can set headers.",
  },
  deleteToken: {
    type: "apiKey",
    in: "header",
    name: "X-Delete-Token",
    description: "The `deleteToken` the upload answered with.",
  },
  metricsToken: {
    type: "http",
    scheme: "bearer",
    description: "The scraper's token (`METRICS_TOKEN`).",
  },
};

const SECURITY_BY_AUTH: Record<AuthKind, Record<string, string[]>[]> = {
  none: [],
  api_key: [{ apiKey: [] }],
  user_token: [{ userToken: [] }],
  stream_token: [{ streamToken: [] }, { userToken: [] }],
  delete_token: [{ deleteToken: [] }],
  // The token travels as a body field or query parameter, documented there.
  transfer_token: [],
  metrics_token: [{ metricsToken: [] }],
};

const ERROR_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: {
        code: { type: "string", description: "A documented snake_case code." },
        message: { type: "string", description: "A human sentence." },
        issues: {
          type: "array",
          items: {
            type: "object",
            properties: { path: { type: "string" }, message: { type: "string" } },
          },
        },
      },
      required: ["code", "message"],
    },
  },
  required: ["error"],
};

/**
 * A stable operation id from method and path.
 *
 * @example
 * ```ts
 * operationId("GET", "/api/download/{id}"); // "getDownloadById"
 * ```
 */
export function operationId(method: HttpMethod, path: string): string {
  const words = path.split("/").filter((part) => part && part !== "api").flatMap((part) => {
    const param = /^\{(.+)\}$/.exec(part);
    const text = param ? `by ${param[1]}` : part;
    return text.split(/[^A-Za-z0-9]+/).filter(Boolean);
  });
  return method.toLowerCase() +
    words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join("");
}

function propertiesOf(schema: JsonSchema): [string, JsonSchema, boolean][] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([name, value]) => [name, value, required.has(name)]);
}

function describedParameter(
  name: string,
  where: OpenApiParameter["in"],
  schema: JsonSchema,
  required: boolean,
  notes: Readonly<Record<string, string>>,
): OpenApiParameter {
  const { description, ...rest } = schema;
  const text = typeof description === "string" ? description : notes[name];
  return { name, in: where, required, ...(text ? { description: text } : {}), schema: rest };
}

function pathParameters(endpoint: EndpointDoc): OpenApiParameter[] {
  const names = [...endpoint.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
  const notes = endpoint.notes ?? {};
  const schema = endpoint.params ? inputJsonSchema(endpoint.params) : { properties: {} };
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  for (const name of Object.keys(properties)) {
    if (!names.includes(name)) {
      throw new Error(
        `${endpoint.method} ${endpoint.path}: parameter "${name}" is not in the path`,
      );
    }
  }
  return names.map((name) =>
    describedParameter(name, "path", properties[name] ?? { type: "string" }, true, notes)
  );
}

function requestBody(endpoint: EndpointDoc): OpenApiOperation["requestBody"] | undefined {
  if (endpoint.body) {
    return {
      required: true,
      content: { "application/json": { schema: inputJsonSchema(endpoint.body) } },
    };
  }
  if (endpoint.rawBody) {
    const content: Record<string, { schema: JsonSchema }> = {};
    for (const mediaType of endpoint.rawBody.mediaTypes) {
      content[mediaType] = {
        schema: mediaType === "multipart/form-data"
          ? {
            type: "object",
            properties: { file: { type: "string", contentMediaType: "application/octet-stream" } },
            required: ["file"],
          }
          : { type: "string", contentMediaType: mediaType },
      };
    }
    return { required: true, description: endpoint.rawBody.description, content };
  }
  return undefined;
}

function responses(endpoint: EndpointDoc): Record<string, OpenApiResponse> {
  const out: Record<string, OpenApiResponse> = {};
  const entries = Object.entries(endpoint.responses).sort(([a], [b]) => Number(a) - Number(b));
  for (const [status, declared] of entries) {
    const code = Number(status);
    const response: OpenApiResponse = {
      description: typeof declared === "string" ? declared : declared.description,
    };
    if (typeof declared !== "string") {
      response.content = {
        [declared.mediaType ?? "application/json"]: {
          schema: jsonSchemaOf(declared.body, "output"),
        },
      };
    } else if (code >= 400) {
      response.content = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };
    } else if (endpoint.transport === "sse" && code === 200) {
      response.content = { "text/event-stream": { schema: { type: "string" } } };
    }
    out[status] = response;
  }
  return out;
}

function operation(endpoint: EndpointDoc): OpenApiOperation {
  const notes = endpoint.notes ?? {};
  const parameters = pathParameters(endpoint);
  if (endpoint.query) {
    for (const [name, schema, required] of propertiesOf(inputJsonSchema(endpoint.query))) {
      parameters.push(describedParameter(name, "query", schema, required, notes));
    }
  }
  for (const [name, description] of Object.entries(endpoint.headers ?? {})) {
    parameters.push({
      name,
      in: "header",
      required: false,
      description,
      schema: { type: "string" },
    });
  }
  const result: OpenApiOperation = {
    operationId: operationId(endpoint.method, endpoint.path),
    summary: endpoint.summary,
    description: endpoint.description,
    tags: [endpoint.tag],
    security: SECURITY_BY_AUTH[endpoint.auth],
    parameters,
    responses: responses(endpoint),
    "x-switchboard-auth": endpoint.auth,
    "x-switchboard-transport": endpoint.transport ?? "http",
    "x-switchboard-errors": [...endpoint.errors],
  };
  const body = requestBody(endpoint);
  if (body) result.requestBody = body;
  if (endpoint.frames) {
    result["x-switchboard-frames"] = Object.fromEntries(
      Object.entries(endpoint.frames).map(([type, schema]) => [type, inputJsonSchema(schema)]),
    );
  }
  if (endpoint.variants) {
    const { field, discriminator, description, schemas } = endpoint.variants;
    result["x-switchboard-variants"] = {
      field,
      discriminator,
      ...(description ? { description } : {}),
      schemas: Object.fromEntries(
        Object.entries(schemas).map(([value, schema]) => [value, inputJsonSchema(schema)]),
      ),
    };
  }
  if (endpoint.serverFrames) result["x-switchboard-server-frames"] = { ...endpoint.serverFrames };
  if (endpoint.notes) result["x-switchboard-notes"] = { ...endpoint.notes };
  if (endpoint.guides?.length) result["x-switchboard-guides"] = [...endpoint.guides];
  if (endpoint.example) {
    result["x-codeSamples"] = [{ lang: "Shell", label: "curl", source: endpoint.example }];
  }
  return result;
}

/**
 * Builds an OpenAPI 3.1 document from the endpoint catalog. Request bodies,
 * query and path parameters and WebSocket frames are the JSON Schemas of the
 * zod schemas the routes validate with (input side). With `registeredRoutes`,
 * `x-switchboard-undocumented` lists the router's routes the catalog misses.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * const document = buildOpenApi([{
 *   method: "POST", path: "/api/echo", tag: "Demo", summary: "Echo", description: "",
 *   auth: "none", body: z.object({ text: z.string() }), responses: { 200: "The text" }, errors: [],
 * }], { title: "Demo", version: "1", serverUrl: "http://localhost:8000" });
 * document.paths["/api/echo"]?.post?.requestBody; // { content: { "application/json": … } }
 * ```
 */
export function buildOpenApi(
  endpoints: readonly EndpointDoc[],
  options: OpenApiOptions,
): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const endpoint of endpoints) {
    const item = paths[endpoint.path] ??= {};
    const method = endpoint.method.toLowerCase() as Lowercase<HttpMethod>;
    if (item[method]) throw new Error(`${endpoint.method} ${endpoint.path} is documented twice`);
    item[method] = operation(endpoint);
  }
  const tags = [...(options.tags ?? [])];
  for (const endpoint of endpoints) {
    if (!tags.some((tag) => tag.name === endpoint.tag)) {
      tags.push({ name: endpoint.tag, description: "" });
    }
  }
  const used = new Set(endpoints.map((endpoint) => endpoint.tag));
  const coverage = options.registeredRoutes
    ? routeCoverage(options.registeredRoutes, endpoints, { include: options.include })
    : { undocumented: [], unregistered: [] };
  return {
    openapi: "3.1.0",
    info: {
      title: options.title,
      version: options.version,
      ...(options.description ? { description: options.description } : {}),
    },
    servers: [{ url: options.serverUrl }],
    tags: tags.filter((tag) => used.has(tag.name)).map((tag) =>
      tag.description ? tag : { name: tag.name }
    ),
    paths,
    components: { schemas: { Error: ERROR_SCHEMA }, securitySchemes: SECURITY_SCHEMES },
    "x-switchboard-error-codes": { ...(options.errorCodes ?? {}) },
    "x-switchboard-undocumented": coverage.undocumented,
    "x-switchboard-unregistered": coverage.unregistered,
  };
}
