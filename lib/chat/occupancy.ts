/** A place taken in a channel; give it back when the connection ends. */
export interface OccupancyLease {
  release(): Promise<void>;
}

/**
 * How many connections each channel has, over every isolate and instance, so
 * a channel can refuse connections past its soft limit before the upgrade.
 */
export interface Occupancy extends AsyncDisposable {
  /** Takes a place unless `max` are taken already; null when the channel is full. */
  reserve(channelId: string, max: number): Promise<OccupancyLease | null>;
  /** Connections counted now. */
  count(channelId: string): Promise<number>;
}

/** Occupancy of one process, for unit tests. */
export class MemoryOccupancy implements Occupancy {
  #counts = new Map<string, number>();

  reserve(channelId: string, max: number): Promise<OccupancyLease | null> {
    const count = this.#counts.get(channelId) ?? 0;
    if (count >= max) return Promise.resolve(null);
    this.#counts.set(channelId, count + 1);
    let released = false;
    return Promise.resolve({
      release: () => {
        if (!released) {
          released = true;
          this.#counts.set(channelId, (this.#counts.get(channelId) ?? 1) - 1);
        }
        return Promise.resolve();
      },
    });
  }

  count(channelId: string): Promise<number> {
    return Promise.resolve(this.#counts.get(channelId) ?? 0);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}
