/**
 * The notifications job of one isolate: its notification center, which drives
 * the re-sends of unacked notifications this isolate published and sweeps for
 * those whose driver died.
 */
import type { Logger } from "../log/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import type { Broker } from "../realtime/mod.ts";
import { NotificationCenter, type NotificationDeps, type NotificationSettings } from "./center.ts";

/** What the notifications job takes from the core. */
export interface NotificationCore {
  kv: Deno.Kv;
  broker: Broker;
  log: Logger;
  metrics: MetricsRegistry;
  /** Names this isolate in retry leases. */
  isolate: string;
}

/**
 * Owns the isolate's {@linkcode NotificationCenter}; `await using` (or
 * `[Symbol.asyncDispose]()`) stops its retry timers and sweep, waiting for a
 * re-send in progress (leases stay, so another isolate takes over).
 *
 * @example
 * ```ts
 * import { notifyUser } from "./helpers.ts";
 * declare const core: NotificationCore; // the isolate's kv, broker, log, metrics and name
 * await using notifications = new NotificationService(core, {});
 * await notifyUser(notifications.center, "ada", "success", { message: "Done" });
 * ```
 */
export class NotificationService implements AsyncDisposable {
  /** Publishes, streams, acks and read state of every user's notifications. */
  readonly center: NotificationCenter;

  /**
   * `push` is told what each publish sent (Web Push, lib/push); it must outlive
   * this service (the job services stop it after this one).
   */
  constructor(
    core: NotificationCore,
    settings: NotificationSettings,
    hooks: { push?: NotificationDeps["push"] } = {},
  ) {
    this.center = new NotificationCenter({
      kv: core.kv,
      broker: core.broker,
      config: settings,
      metrics: core.metrics,
      log: core.log,
      isolate: core.isolate,
      ...(hooks.push ? { push: hooks.push } : {}),
    });
  }

  /** Stops the center's retry timers and sweep, waiting for a re-send in progress. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.center[Symbol.asyncDispose]();
  }
}
