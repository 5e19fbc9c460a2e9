/** Parses `<epoch>-<offset>`; null for anything else. */
function parse(cursor: string): { epoch: string; offset: number } | null {
  const match = /^([a-z0-9]{1,16})-(\d{1,15})$/.exec(cursor);
  return match ? { epoch: match[1]!, offset: Number(match[2]) } : null;
}

/**
 * Remembers the last cursor a client saw and drops frames at or before it, and
 * frames whose id was already seen (a bounded memory of recent ids).
 */
export class CursorTracker {
  #cursor: string | null;
  #recentIds = new Set<string>();
  #maxIds: number;

  constructor(options: { initial?: string | null; maxIds?: number } = {}) {
    this.#cursor = options.initial ?? null;
    this.#maxIds = options.maxIds ?? 2000;
  }

  /** The cursor to resume from. */
  get cursor(): string | null {
    return this.#cursor;
  }

  /** Jumps to a cursor the server announced (after too_far_behind or epoch_changed). */
  reset(cursor: string | null): void {
    this.#cursor = cursor;
  }

  /**
   * True when a frame with this cursor and id is new; records it. Frames without
   * a cursor are new unless their id repeats.
   */
  accept(cursor: string | undefined, id?: string | undefined): boolean {
    if (id !== undefined) {
      if (this.#recentIds.has(id)) return false;
      this.#recentIds.add(id);
      if (this.#recentIds.size > this.#maxIds) {
        this.#recentIds.delete(this.#recentIds.values().next().value!);
      }
    }
    if (cursor === undefined) return true;
    const next = parse(cursor);
    const last = this.#cursor ? parse(this.#cursor) : null;
    if (next && last && next.epoch === last.epoch && next.offset <= last.offset) return false;
    this.#cursor = cursor;
    return true;
  }
}
