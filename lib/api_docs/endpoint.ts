import type { z } from "zod";

/** HTTP methods an endpoint can be documented with. */
export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * How an endpoint authenticates its caller:
 * - `none`: anyone (the per-address rate limit still applies);
 * - `api_key`: `Authorization: Bearer <API key>` (backends);
 * - `user_token`: `Authorization: Bearer <user or guest token>`;
 * - `stream_token`: `?token=` (a single-use stream token, or a user token), or `Authorization: Bearer`;
 * - `delete_token`: the delete token an upload returned, in `X-Delete-Token`;
 * - `transfer_token`: a transfer's sender or receiver token, in the body, query or `Authorization: Bearer`;
 * - `metrics_token`: `Authorization: Bearer <METRICS_TOKEN>` (the scraper's token).
 */
export type AuthKind =
  | "none"
  | "api_key"
  | "user_token"
  | "stream_token"
  | "delete_token"
  | "transfer_token"
  | "metrics_token";

/** What travels over an endpoint once it answers. */
export type Transport = "http" | "sse" | "websocket";

/** A response with a body: what it means and the schema of that body. */
export interface ResponseDoc {
  description: string;
  /** The body's schema (its output side: what the server sends). */
  body: z.ZodType;
  /** The body's media type. Default `application/json`. */
  mediaType?: string;
}

/** One documented HTTP endpoint: the input side comes from the zod schemas the route validates with. */
export interface EndpointDoc {
  method: HttpMethod;
  /** OpenAPI-style path: `/api/download/{id}`. */
  path: string;
  /** The group on the reference page (e.g. "Link mode"). */
  tag: string;
  /** One line. */
  summary: string;
  /** A paragraph or two: what it does, rules and limits. */
  description: string;
  auth: AuthKind;
  /** `http` unless it upgrades to a WebSocket or answers with an event stream. Default `http`. */
  transport?: Transport;
  /** JSON body schema (the one `readJson` validates with). */
  body?: z.ZodType;
  /** A non-JSON body: its media types and what it is (e.g. a raw upload). */
  rawBody?: { mediaTypes: string[]; description: string };
  /** Query schema (the one `readQuery` validates with). */
  query?: z.ZodType;
  /** Path parameter schema (an object with one key per `{name}` in the path). */
  params?: z.ZodType;
  /** Request headers that matter, by name. */
  headers?: Record<string, string>;
  /** Descriptions of fields, by name (`limit`, `files[].name`), for schemas without `.describe()`. */
  notes?: Record<string, string>;
  /**
   * A body field whose schema depends on another field (e.g. a notification's `data` by its
   * `type`): the schemas the server validates that field with, by the other field's value.
   */
  variants?: {
    field: string;
    discriminator: string;
    schemas: Record<string, z.ZodType>;
    description?: string;
  };
  /** Inbound WebSocket frame schemas by `type` (the `frames` map the route accepts). */
  frames?: Record<string, z.ZodType>;
  /** Frames or events the server sends, by type, with a line each. */
  serverFrames?: Record<string, string>;
  /**
   * Status code → what it means; a success answer with a body also gives its
   * schema ({@linkcode ResponseDoc}), so the OpenAPI document types it.
   */
  responses: Record<number, string | ResponseDoc>;
  /** Documented error codes this endpoint answers with (see the error code registry). */
  errors: string[];
  /** A shell snippet that runs as written (see docs/api.md for `$BASE`, `$KEY`, `$TOKEN`). */
  example?: string;
  /** Guides (docs/<name>.md) that explain this endpoint further. */
  guides?: string[];
}

export type { ErrorCodeDoc } from "../errors/mod.ts";
