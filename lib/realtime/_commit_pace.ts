/**
 * How many KV commits to keep in flight, from the round trip KV takes here.
 *
 * A local SQLite file commits in a fraction of a millisecond and serializes
 * writes: a few commits in flight keep it busy, and publishes that wait
 * meanwhile share the next commit (fewer, larger commits save CPU). Deno KV on
 * Deno Deploy takes 7–194 ms per commit and runs commits concurrently: there,
 * waiting for a slot costs whole round trips, so many commits go out at once
 * and a busy topic pipelines its commits (see KvTopicLog).
 *
 * The round trip is the smallest commit time of the recent ones (like TCP's
 * minimum RTT): queueing on a loaded machine raises the average, not the
 * minimum, so load does not feed back into more concurrency.
 */
export class CommitPace {
  #samples: number[] = [];
  #next = 0;
  #minimum = 0;
  readonly #window: number;
  readonly #fixed: { inFlight?: number | undefined; pipelineDepth?: number | undefined };

  constructor(
    options: {
      /** Commit times remembered (default 64). */
      window?: number;
      /** Fixed commits in flight (tests); default from the round trip. */
      inFlight?: number | undefined;
      /** Fixed commits in flight per topic (tests); default from the round trip. */
      pipelineDepth?: number | undefined;
    } = {},
  ) {
    this.#window = options.window ?? 64;
    this.#fixed = { inFlight: options.inFlight, pipelineDepth: options.pipelineDepth };
  }

  /** Records how long one commit took. */
  record(ms: number): void {
    if (this.#samples.length < this.#window) this.#samples.push(ms);
    else this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#window;
    this.#minimum = Math.min(...this.#samples);
  }

  /** The smallest recent commit time (0 before the first commit). */
  get roundTripMs(): number {
    return this.#minimum;
  }

  /** Commits in flight at once for the whole isolate: 4 locally, up to 512 over a network. */
  get inFlight(): number {
    if (this.#fixed.inFlight !== undefined) return this.#fixed.inFlight;
    return Math.max(4, Math.min(512, Math.ceil(this.#minimum * 2)));
  }

  /** Commits in flight per topic: 1 locally, 3 when a round trip costs more than 5 ms. */
  get pipelineDepth(): number {
    if (this.#fixed.pipelineDepth !== undefined) return this.#fixed.pipelineDepth;
    return this.#minimum > 5 ? 3 : 1;
  }
}
