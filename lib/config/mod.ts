/**
 * @module
 * Configuration from the environment, validated with zod. A bad value stops the
 * start with one line that names the variable (see {@linkcode ConfigError}).
 */
import { z } from "zod";
import { parseKvLatency } from "../kv/latency.ts";
import { HOST_ENTRY_PATTERN } from "../origin/mod.ts";

const onOff = z.enum(["on", "off"]);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();
const commaList = z.string().transform((value) =>
  value.split(",").map((item) => item.trim()).filter((item) => item.length > 0)
);

/** The schema of every environment variable Switchboard reads, with its default. */
const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  HOSTNAME: z.string().min(1).default("0.0.0.0"),
  KV_PATH: z.string().min(1).default("./data/switchboard.sqlite3"),
  SIMULATE_KV_LATENCY: z.string().transform((value, context) => {
    const latency = parseKvLatency(value);
    if (!latency) {
      context.addIssue({
        code: "custom",
        message: "must be <strong_ms>/<eventual_ms>, e.g. 94/7 (each at most 10000)",
      });
      return z.NEVER;
    }
    return latency;
  }).optional(),
  PUBLIC_URL: z.url().optional(),
  /** Without `PUBLIC_URL`, hosts besides loopback whose requests may build links (see lib/origin). */
  PUBLIC_HOSTS: commaList.pipe(
    z.array(
      z.string().regex(HOST_ENTRY_PATTERN, "must be host names, or host:port, comma-separated"),
    ),
  ).default([]),
  SWITCHBOARD_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  SWITCHBOARD_API_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  SWITCHBOARD_GUESTS: onOff.default("on"),
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  BROADCAST_CHANNEL: onOff.default("on"),
  TRUST_PROXY: onOff.default("off"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  MAX_MESSAGE_BYTES: positiveInt.default(65536),
  CONNECTION_MESSAGES_PER_SECOND: positiveInt.default(20),
  SEND_QUEUE_BYTES: positiveInt.default(1024 * 1024),
  IDLE_TIMEOUT_SECONDS: positiveInt.default(60),
  BODY_TIMEOUT_SECONDS: positiveInt.max(3600).default(30),
  SLOW_CONSUMER_SECONDS: positiveInt.default(10),
  SSE_HEARTBEAT_SECONDS: positiveInt.max(20).default(15),
  PRESENCE_TTL_SECONDS: positiveInt.default(30),
  REQUESTS_PER_MINUTE: positiveInt.default(600),
  JOIN_ATTEMPTS_PER_MINUTE: positiveInt.default(20),
  UPLOADS_PER_HOUR: positiveInt.default(60),
  MAX_UPLOAD_BYTES: positiveInt.default(100 * 1024 * 1024),
  UPLOAD_TTL_SECONDS: positiveInt.max(86400).default(3600),
  TRANSFER_TTL_SECONDS: positiveInt.max(86400).default(1800),
  TRANSFER_IDLE_SECONDS: positiveInt.max(86400).default(3600),
  TRANSFER_MAX_SECONDS: positiveInt.max(86400).default(86400),
  TRANSFER_SWEEP_SECONDS: positiveInt.max(3600).default(30),
  TRANSFERS_PER_HOUR: positiveInt.default(120),
  TRANSFER_MAX_SIGNALS: positiveInt.default(300),
  TRANSFER_MAX_SIGNAL_BYTES: positiveInt.default(1024 * 1024),
  SIGNALING_STORAGE_BYTES: positiveInt.default(1024 ** 3),
  UPLOAD_STORAGE_BYTES: positiveInt.default(10 * 1024 ** 3),
  CHAT_STORAGE_BYTES: positiveInt.default(1024 ** 3),
  STUN_URLS: commaList.default(["stun:stun.l.google.com:19302", "stun:stun.cloudflare.com:3478"]),
  TURN_URLS: commaList.default([]),
  TURN_USERNAME: z.string().optional(),
  TURN_CREDENTIAL: z.string().optional(),
  TURN_SECRET: z.string().optional(),
  TURN_TTL_SECONDS: positiveInt.default(3600),
  TURN_SERVICE_ID: z.string().optional(),
  TURN_SERVICE_TOKEN: z.string().optional(),
  TURN_SERVICE_URL: z.url().default("https://rtc.live.cloudflare.com"),
  NOTIFY_RETRY_INTERVAL_MS: positiveInt.default(5000),
  NOTIFY_MAX_RETRIES: nonNegativeInt.default(3),
  NOTIFY_MAX_DATA_BYTES: positiveInt.max(32 * 1024).default(16 * 1024),
  NOTIFY_MAX_RECIPIENTS: positiveInt.max(10_000).default(1000),
  NOTIFY_USER_PER_MINUTE: positiveInt.default(120),
  NOTIFY_PUBLISHER_PER_MINUTE: positiveInt.default(6000),
  NOTIFY_EXTRA_TYPES: commaList.default([]),
  NOTIFY_CORS_ORIGINS: commaList.default(["*"]),
  // Web Push (lib/push): keys from here or generated once and kept in KV.
  VAPID_PUBLIC_KEY: z.string().regex(
    /^[A-Za-z0-9_-]{86,88}$/,
    "must be an uncompressed P-256 public key, base64url (87 characters)",
  ).optional(),
  VAPID_PRIVATE_KEY: z.string().regex(
    /^[A-Za-z0-9_-]{42,44}$/,
    "must be a P-256 private key (the JWK's d), base64url (43 characters)",
  ).optional(),
  VAPID_SUBJECT: z.string().regex(
    /^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/,
    "must be a mailto: address or an https: URL",
  ).optional(),
  PUSH_DELAY_SECONDS: nonNegativeInt.max(3600).default(10),
  PUSH_ENDPOINT_HOSTS: commaList.pipe(
    z.array(
      z.string().regex(
        /^(?:\*\.)?[a-z0-9.-]+(?::\d{1,5})?$/i,
        "must be host names (name, name:port or *.suffix), comma-separated",
      ),
    ),
  ).default([]),
  CHANNEL_MAX_CONNECTIONS: positiveInt.default(1000),
  CHAT_PRIVATE_PREFIX: z.string().regex(
    /^[a-z0-9][a-z0-9_:-]{0,95}$/,
    "a channel name prefix: lowercase letters, digits, _ - :",
  ).default("private:"),
  CONNECTIONS_PER_ADDRESS: positiveInt.default(256),
  CONNECTIONS_PER_USER: positiveInt.default(16),
  CHANNEL_CONNECTIONS_PER_USER: positiveInt.default(5),
  FALLBACK_TIMEOUT_MS: positiveInt.default(12000),
});

/** Validated configuration. */
export type Config = z.infer<typeof configSchema>;

/** Thrown when an environment variable has a value Switchboard cannot use. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Parses configuration from an environment map. Empty strings count as unset.
 *
 * @example
 * ```ts
 * const config = loadConfig({ PORT: "9000" });
 * config.PORT; // 9000
 * ```
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== "") present[key] = value;
  }
  const result = configSchema.safeParse(present);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const name = String(issue.path[0] ?? "configuration");
  throw new ConfigError(
    `Invalid configuration: ${name}=${JSON.stringify(present[name] ?? "")}: ${issue.message}`,
  );
}
