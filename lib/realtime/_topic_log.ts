import type {
  HistoryOptions,
  Position,
  PublishOptions,
  PublishResult,
  TopicEvent,
} from "./types.ts";

/** The storage under a broker: an append-only log per topic. */
export interface TopicLog {
  append<T>(topic: string, data: T, options?: PublishOptions): Promise<PublishResult<T>>;
  head(topic: string): Promise<Position | null>;
  read<T>(topic: string, options?: HistoryOptions): Promise<TopicEvent<T>[]>;
}

/** A short random epoch id: lowercase letters and digits. */
export function newEpoch(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (byte) => (byte % 36).toString(36))
    .join("");
}

/** Clamps a history limit to 1..1000 (default 100). */
export function historyLimit(options: HistoryOptions): number {
  return Math.max(1, Math.min(1000, Math.floor(options.limit ?? 100)));
}
