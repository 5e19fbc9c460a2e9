/**
 * @module
 * The API reference as data: endpoints described with the zod schemas their
 * routes validate with, turned into an OpenAPI 3.1 document and into table rows
 * for the reference page; which registered routes the catalog misses; the
 * Markdown guides rendered to HTML and their fenced code blocks (which the docs
 * examples test runs), cached for the known guide names only. Runtime-neutral (no Hono, no Deno APIs).
 */
export type {
  AuthKind,
  EndpointDoc,
  ErrorCodeDoc,
  HttpMethod,
  ResponseDoc,
  Transport,
} from "./endpoint.ts";
export {
  describeConstraints,
  describeType,
  isClosedObject,
  type SchemaField,
  schemaFields,
} from "./schema_table.ts";
export {
  type CoverageOptions,
  type RegisteredRoute,
  type RouteCoverage,
  routeCoverage,
  toOpenApiPath,
} from "./coverage.ts";
export {
  buildOpenApi,
  type JsonSchema,
  jsonSchemaOf,
  type OpenApiDocument,
  type OpenApiOperation,
  type OpenApiOptions,
  type OpenApiParameter,
  type OpenApiResponse,
  operationId,
} from "./openapi.ts";
export { type FencedBlock, fencedBlocks } from "./markdown.ts";
export { headingId, type RenderedGuide, renderGuide, type RenderGuideOptions } from "./guide.ts";
export { GuideCache, type GuideLoader } from "./guide_cache.ts";
