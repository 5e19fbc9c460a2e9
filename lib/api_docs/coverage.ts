import type { EndpointDoc } from "./endpoint.ts";

/** A route as the router registered it (Hono's `app.routes` entries have this shape). */
export interface RegisteredRoute {
  method: string;
  path: string;
}

/**
 * A router path in OpenAPI form: `:id` and `:file{[a-z]+}` become `{id}` and `{file}`.
 *
 * @example
 * ```ts
 * toOpenApiPath("/api/download/:id"); // "/api/download/{id}"
 * ```
 */
export function toOpenApiPath(routerPath: string): string {
  return routerPath.replace(/:([A-Za-z0-9_]+)(\{[^/]*\})?\??/g, "{$1}");
}

/** Which registered routes the catalog misses, and which documented endpoints do not exist. */
export interface RouteCoverage {
  /** `METHOD /path` of each registered route no endpoint describes. */
  undocumented: string[];
  /** `METHOD /path` of each documented endpoint no route serves. */
  unregistered: string[];
}

/** Options of {@linkcode routeCoverage}. */
export interface CoverageOptions {
  /** Which registered paths must be documented (OpenAPI form). Default: all of them. */
  include?: (path: string) => boolean;
}

/**
 * Compares the router's routes with the catalog. Middleware and catch-alls
 * (`ALL` on a path with `*`) are not endpoints; `HEAD` is served by `GET`.
 */
export function routeCoverage(
  registered: readonly RegisteredRoute[],
  endpoints: readonly EndpointDoc[],
  options: CoverageOptions = {},
): RouteCoverage {
  const include = options.include ?? (() => true);
  const documented = new Set(endpoints.map((endpoint) => `${endpoint.method} ${endpoint.path}`));
  const documentedPaths = new Set(endpoints.map((endpoint) => endpoint.path));
  const served = new Set<string>();
  const undocumented = new Set<string>();
  for (const route of registered) {
    const method = route.method.toUpperCase();
    if (route.path.includes("*")) continue;
    const path = toOpenApiPath(route.path);
    served.add(`${method} ${path}`);
    if (!include(path)) continue;
    const known = method === "ALL"
      ? documentedPaths.has(path)
      : documented.has(`${method} ${path}`);
    if (!known) undocumented.add(`${method} ${path}`);
  }
  const unregistered = endpoints
    .filter((endpoint) => {
      const method = endpoint.method === "HEAD" ? "GET" : endpoint.method;
      return !served.has(`${method} ${endpoint.path}`) && !served.has(`ALL ${endpoint.path}`);
    })
    .map((endpoint) => `${endpoint.method} ${endpoint.path}`);
  return { undocumented: [...undocumented], unregistered };
}
