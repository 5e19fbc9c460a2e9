/**
 * The live-transfer job of one isolate: its session store, the sweeper that
 * expires sessions (and tells connected peers), the keeper that keeps joined
 * sessions alive while a peer is connected here, and the ICE server provider.
 * The sessions' time and the two loops' timers come from one {@linkcode Clock}.
 */
import { type Clock, systemClock } from "../clock/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import { type Periodic, reportLoopFailures, startSweeper } from "../periodic/mod.ts";
import type { Broker } from "../realtime/mod.ts";
import { IceServerProvider, type IceSettings } from "./ice.ts";
import { SessionKeeper } from "./keeper.ts";
import { announceEnded } from "./relay.ts";
import { countTransfersByState } from "./states.ts";
import { KvTransferStore, type TransferStore } from "./store.ts";

/** What the transfer job takes from the core. */
export interface TransferCore {
  kv: Deno.Kv;
  broker: Broker;
  log: Logger;
  metrics: MetricsRegistry;
}

/** Options of {@linkcode TransferService} (from `TRANSFER_*`, `STUN_*` and `TURN_*`). */
export interface TransferServiceOptions {
  /** Life of an unjoined session created without `ttlSeconds` (`TRANSFER_TTL_SECONDS`). */
  defaultTtlMs: number;
  /** Life of a joined session after its last peer left (`TRANSFER_IDLE_SECONDS`). */
  idleMs: number;
  /** The longest life of any session (`TRANSFER_MAX_SECONDS`). */
  maxAgeMs: number;
  /** Time between sweeps (`TRANSFER_SWEEP_SECONDS`). */
  sweepIntervalMs: number;
  /** STUN and TURN servers handed to peers. */
  ice: IceSettings;
  /**
   * The time of sessions (creation, expiry, touches) and the timers of the
   * sweeper and the keeper (not of TURN credentials: a TURN server checks them
   * on its own clock). Default {@linkcode systemClock}.
   */
  clock?: Clock;
}

/**
 * Owns the transfer job's state and loops; `await using` (or
 * `[Symbol.asyncDispose]()`) stops the sweeper and the keeper and waits for
 * their runs in progress.
 *
 * @example
 * ```ts
 * declare const core: TransferCore, options: TransferServiceOptions;
 * await using transfer = new TransferService(core, options);
 * const { record } = await transfer.store.create({ files: [] });
 * ```
 */
export class TransferService implements AsyncDisposable {
  /** The sessions, in KV. */
  readonly store: TransferStore;
  /** Keeps the sessions with a peer connected here alive. */
  readonly keeper: SessionKeeper;
  /** STUN and TURN servers (TURN credentials minted or fetched on demand). */
  readonly ice: IceServerProvider;
  readonly #kv: Deno.Kv;
  readonly #clock: Clock;
  readonly #sweeper: Periodic;

  constructor(core: TransferCore, options: TransferServiceOptions) {
    const { broker, log, metrics } = core;
    const clock = options.clock ?? systemClock;
    this.#kv = core.kv;
    this.#clock = clock;
    const store = new KvTransferStore(core.kv, {
      now: () => clock.now(),
      defaultTtlMs: options.defaultTtlMs,
      idleMs: options.idleMs,
      maxAgeMs: options.maxAgeMs,
    });
    this.store = store;
    this.keeper = new SessionKeeper(store, {
      intervalMs: Math.min(60_000, options.idleMs / 4),
      onError: reportLoopFailures(core, "transfer_touch"),
      clock,
    });
    this.#sweeper = startSweeper(store, {
      intervalMs: options.sweepIntervalMs,
      onSweep: async (report) => {
        for (const record of report.expired) {
          metrics.increment("switchboard_transfer_sessions_total", { event: "expired" });
          await announceEnded(broker, record, { reason: "expired", by: "server" });
        }
        if (report.expired.length || report.purged) {
          log.info("transfer_swept", { expired: report.expired.length, purged: report.purged });
        }
      },
      onError: reportLoopFailures(core, "transfer_sweep"),
      clock,
    });
    // On the system clock whatever `clock` is: a TURN server checks its credentials' expiry
    // against its own, real time.
    this.ice = new IceServerProvider(options.ice, {
      onServiceError: (error) => {
        metrics.increment("switchboard_turn_service_errors_total");
        log.warn("turn_service_failed", { error });
      },
    });
  }

  /** Sessions by effective state (the admin dashboard's view). */
  countByState(): Promise<Record<string, number>> {
    return countTransfersByState(this.#kv, { now: this.#clock.now() });
  }

  /** Stops the sweeper and the keeper, waiting for their runs in progress. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#sweeper[Symbol.asyncDispose]();
    await this.keeper[Symbol.asyncDispose]();
  }
}
