/**
 * The job services of one isolate, each built from the core with plain options
 * taken from the configuration; disposed in reverse order of their start.
 */
import type { Clock } from "../clock/mod.ts";
import { type Config, ConfigError } from "../config/mod.ts";
import type { AppContext } from "../context.ts";
import { type ChatService, startChatService } from "../chat/mod.ts";
import { LinkService } from "../link/mod.ts";
import { NotificationService } from "../notifications/mod.ts";
import { type PushService, startPushService, VapidKeyError } from "../push/mod.ts";
import { TransferService } from "../transfer/mod.ts";

/** What the jobs take from the core. */
export type JobCore = AppContext & { kv: Deno.Kv };

/** The services of every job; `[Symbol.asyncDispose]()` stops them, last started first. */
export interface JobServices extends AsyncDisposable {
  /** Live transfer: sessions, their sweeper and keeper, ICE servers. */
  transfer: TransferService;
  /** Link mode: the file store and its sweeper. */
  link: LinkService;
  /** Web Push: subscriptions, and pushes of notifications nobody received in time. */
  push: PushService;
  /** Notifications: the center and its re-sends (tells `push` what it sent). */
  notifications: NotificationService;
  /** Chat: channels, typing, and the connection counts of channels. */
  chat: ChatService;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode startJobs}. */
export interface StartJobsOptions {
  /** The live-transfer job's clock (default the system's); the other jobs use the system's. */
  clock?: Clock;
}

/** Starts every job's service. If one fails to start, those already started are stopped. */
export async function startJobs(
  core: JobCore,
  config: Config,
  options: StartJobsOptions = {},
): Promise<JobServices> {
  await using stack = new AsyncDisposableStack();
  const transfer = stack.use(
    new TransferService(core, {
      clock: options.clock,
      defaultTtlMs: config.TRANSFER_TTL_SECONDS * 1000,
      idleMs: config.TRANSFER_IDLE_SECONDS * 1000,
      maxAgeMs: config.TRANSFER_MAX_SECONDS * 1000,
      sweepIntervalMs: config.TRANSFER_SWEEP_SECONDS * 1000,
      ice: {
        stunUrls: config.STUN_URLS,
        turnUrls: config.TURN_URLS,
        turnUsername: config.TURN_USERNAME,
        turnCredential: config.TURN_CREDENTIAL,
        turnSecret: config.TURN_SECRET,
        ttlSeconds: config.TURN_TTL_SECONDS,
        turnServiceId: config.TURN_SERVICE_ID,
        turnServiceToken: config.TURN_SERVICE_TOKEN,
        turnServiceUrl: config.TURN_SERVICE_URL,
      },
    }),
  );
  const link = stack.use(
    new LinkService(core, { commitsInFlight: core.kvDistance === "remote" ? 4 : 1 }),
  );
  // Before notifications, so it is stopped after them: the center tells it what it sent.
  const push = stack.use(
    await startPushService(core, {
      VAPID_PUBLIC_KEY: config.VAPID_PUBLIC_KEY,
      VAPID_PRIVATE_KEY: config.VAPID_PRIVATE_KEY,
      VAPID_SUBJECT: config.VAPID_SUBJECT,
      PUBLIC_URL: config.PUBLIC_URL,
      PUSH_DELAY_SECONDS: config.PUSH_DELAY_SECONDS,
      PUSH_ENDPOINT_HOSTS: config.PUSH_ENDPOINT_HOSTS,
    }).catch((error) => {
      throw error instanceof VapidKeyError ? new ConfigError(error.message) : error;
    }),
  );
  const notifications = stack.use(
    new NotificationService(core, {
      NOTIFY_RETRY_INTERVAL_MS: config.NOTIFY_RETRY_INTERVAL_MS,
      NOTIFY_MAX_RETRIES: config.NOTIFY_MAX_RETRIES,
      NOTIFY_MAX_DATA_BYTES: config.NOTIFY_MAX_DATA_BYTES,
      NOTIFY_MAX_RECIPIENTS: config.NOTIFY_MAX_RECIPIENTS,
      NOTIFY_USER_PER_MINUTE: config.NOTIFY_USER_PER_MINUTE,
      NOTIFY_EXTRA_TYPES: config.NOTIFY_EXTRA_TYPES,
      BROADCAST_CHANNEL: config.BROADCAST_CHANNEL,
    }, { push }),
  );
  const chat = stack.use(
    startChatService(core, { occupancyTtlMs: config.PRESENCE_TTL_SECONDS * 1000 }),
  );
  // Started: from here on the caller stops them (`await using` stops them on a throw above).
  const started = stack.move();
  return {
    transfer,
    link,
    push,
    notifications,
    chat,
    [Symbol.asyncDispose]: () => started.disposeAsync(),
  };
}
