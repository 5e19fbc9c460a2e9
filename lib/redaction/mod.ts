/**
 * @module
 * What must never leave the process: the one list of names whose values are
 * credentials or capabilities, and the functions that blank them. Logs
 * (`lib/log`) and traces (`lib/observability`) both redact with this module,
 * so a name added here is kept out of both.
 *
 * @example
 * ```ts
 * redactQuery("?token=eyJ…&since=4"); // "token=REDACTED&since=4"
 * redact({ deleteToken: "dt_…", note: "GET /x?token=abc" });
 * // { deleteToken: "[redacted]", note: "GET /x?token=[redacted]" }
 * ```
 */

/**
 * Names of query parameters, log fields, headers and span attributes whose
 * values are secrets. A name counts when, ignoring case, `_` and `-`, it
 * contains one of these: `deleteToken`, `X-Api-Key`, `clientSecret`,
 * `set-cookie` and `credentials` all do.
 */
export const SENSITIVE_NAMES: readonly string[] = [
  "token",
  "access_token",
  "api_key",
  "key",
  "secret",
  "deleteToken",
  "receiverToken",
  "senderToken",
  "streamToken",
  "authorization",
  "cookie",
  "password",
  "credential",
  "signature",
];

/** What replaces a secret in a log record. */
export const REDACTED = "[redacted]";
/** What replaces a secret in a URL (no characters that URLs escape). */
const REDACTED_IN_URL = "REDACTED";

const normalize = (name: string) => name.toLowerCase().replace(/[_-]/g, "");
const NORMALIZED = SENSITIVE_NAMES.map(normalize);

/** True when `name` (a query parameter, field, header or attribute) holds a secret. */
export function isSensitiveName(name: string): boolean {
  const normalized = normalize(name);
  return NORMALIZED.some((sensitive) => normalized.includes(sensitive));
}

// Token-shaped values wherever they appear: JWTs, API keys (sb_), delete tokens (dt_),
// transfer tokens (ts_, tr_).
const TOKEN_SHAPED = /eyJ[\w-]+\.[\w-]+\.[\w-]+|\b(?:sb|dt|ts|tr)_[\w-]{16,}/g;
// `name=value` pairs as they appear in URLs and headers quoted into messages.
const NAME_VALUE = /([\w.%-]+)=([^&\s"'#<>]+)/g;

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/** `text` with token-shaped values and the values of `name=value` pairs with sensitive names masked. */
export function redactText(text: string): string {
  return text
    .replace(
      NAME_VALUE,
      (pair, name: string) => isSensitiveName(decodedName(name)) ? `${name}=${REDACTED}` : pair,
    )
    .replace(TOKEN_SHAPED, REDACTED);
}

/**
 * A query string (with or without its `?`) with the values of sensitive
 * parameters replaced by {@linkcode REDACTED_IN_URL}. Names are compared
 * decoded, so `%74oken=` is caught too; other parameters keep their values.
 */
export function redactQuery(query: string): string {
  const bare = query.startsWith("?") ? query.slice(1) : query;
  if (!bare) return bare;
  const params = new URLSearchParams(bare);
  let changed = false;
  for (const name of new Set(params.keys())) {
    if (isSensitiveName(name)) {
      params.set(name, REDACTED_IN_URL);
      changed = true;
    }
  }
  const redacted = changed ? params.toString() : bare;
  // A value under an innocent name can still be token-shaped (a JWT pasted anywhere).
  return redacted.replace(TOKEN_SHAPED, REDACTED_IN_URL);
}

/**
 * A copy of `value` safe to log: fields with sensitive names become
 * {@linkcode REDACTED}, strings are masked by {@linkcode redactText}, errors
 * keep their name and masked message. Nesting deeper than 5 levels is kept as is.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactText(value);
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const clean: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    clean[key] = isSensitiveName(key) ? REDACTED : redact(item, depth + 1);
  }
  return clean;
}
