/** Keeps joined sessions alive while this isolate serves one of their peers. */
import type { Clock } from "../clock/mod.ts";
import { type Periodic, runPeriodically } from "../periodic/mod.ts";
import type { TransferStore } from "./store.ts";

/** Options of {@linkcode SessionKeeper}. */
export interface SessionKeeperOptions {
  /** Time between touches of sessions with connected peers. Default 60 s. */
  intervalMs?: number;
  /** Called when a touch fails (the next one runs anyway). */
  onError?: (error: unknown) => void;
  /** The timer of the touches (default the system's). */
  clock?: Clock;
}

/**
 * Counts this isolate's signaling connections per session and touches those
 * sessions now and then, so a joined session lives while a peer is connected
 * and for the idle time after the last one left. It needs no goodbye: when a
 * process dies, its touches stop and the sessions expire an idle time later.
 */
export class SessionKeeper implements Disposable, AsyncDisposable {
  #store: Pick<TransferStore, "touch">;
  #connections = new Map<string, number>();
  #toucher: Periodic;
  #onError: (error: unknown) => void;

  constructor(store: Pick<TransferStore, "touch">, options: SessionKeeperOptions = {}) {
    this.#store = store;
    this.#onError = options.onError ?? (() => {});
    this.#toucher = runPeriodically(() => this.#touchAll(), {
      intervalMs: options.intervalMs ?? 60_000,
      onError: this.#onError,
      clock: options.clock,
    });
  }

  /** Sessions with at least one connection here. */
  get sessions(): string[] {
    return [...this.#connections.keys()];
  }

  /** A peer of session `id` connected here. */
  async connected(id: string): Promise<void> {
    this.#connections.set(id, (this.#connections.get(id) ?? 0) + 1);
    await this.#touch(id);
  }

  /** A peer of session `id` disconnected from here: the idle time counts from now. */
  async disconnected(id: string): Promise<void> {
    const count = (this.#connections.get(id) ?? 1) - 1;
    if (count > 0) this.#connections.set(id, count);
    else this.#connections.delete(id);
    await this.#touch(id);
  }

  async #touch(id: string): Promise<void> {
    try {
      await this.#store.touch(id);
    } catch (error) {
      this.#onError(error);
    }
  }

  async #touchAll(): Promise<void> {
    for (const id of this.sessions) await this.#touch(id);
  }

  /** Stops the touches (a round in progress runs to its end unawaited). */
  [Symbol.dispose](): void {
    this.#toucher.stop();
    this.#connections.clear();
  }

  /** Stops the touches and waits for a round in progress. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#connections.clear();
    await this.#toucher[Symbol.asyncDispose]();
  }
}
