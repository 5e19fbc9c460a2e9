import { type EphemeralMessage, type ListenOptions, PublishError } from "./types.ts";
import { TOPIC_PATTERN } from "./retention.ts";
import { exceedsUtf8Bytes, utf8Bytes } from "../text/mod.ts";

/** An ephemeral message older than this is stale and dropped (it also bounds the mailbox). */
const EPHEMERAL_TTL_MS = 5000;
/** Largest ephemeral payload: they are small signals, kept a few seconds in a shared mailbox. */
const MAX_EPHEMERAL_BYTES = 1024;
/** Messages per listener waiting to be read; beyond it the oldest are dropped. */
const LISTENER_QUEUE = 256;
/** Ids remembered per topic to drop a message seen through a second path. */
const SEEN_IDS = 512;

/**
 * Wall-clock milliseconds with a fraction. A listener takes only messages
 * published after it started, and a message published in the same millisecond
 * as the listener started (then replayed from the mailbox) must still compare
 * as earlier: whole milliseconds would let it through.
 */
function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Builds an ephemeral message, checking the topic name and the payload size. */
export function ephemeralMessage<T>(topic: string, data: T): EphemeralMessage<T> {
  if (!TOPIC_PATTERN.test(topic)) {
    throw new PublishError("invalid_topic", `"${topic.slice(0, 60)}" is not a topic name`);
  }
  const json = JSON.stringify(data) ?? "";
  if (exceedsUtf8Bytes(json, MAX_EPHEMERAL_BYTES)) {
    throw new PublishError(
      "event_too_large",
      `Cannot publish an ephemeral message to "${topic}": ${
        utf8Bytes(json)
      } bytes, at most ${MAX_EPHEMERAL_BYTES}`,
    );
  }
  return { topic, id: crypto.randomUUID(), time: preciseNow(), data };
}

interface Listener {
  /** Messages published before the listener started are not for it. */
  since: number;
  queue: EphemeralMessage[];
  wake: (() => void) | null;
}

/** Hooks a broker uses to follow which topics have local ephemeral listeners. */
export interface EphemeralHooks {
  opened?(topic: string): void;
  closed?(topic: string): void;
}

/**
 * The ephemeral listeners of one isolate. Messages may arrive from a local
 * publish and from a KV mailbox watch, each possibly several times: a bounded
 * memory of ids per topic delivers each once, and stale ones are dropped.
 */
export class EphemeralHub {
  #listeners = new Map<string, Set<Listener>>();
  #seen = new Map<string, Set<string>>();
  #hooks: EphemeralHooks;

  constructor(hooks: EphemeralHooks = {}) {
    this.#hooks = hooks;
  }

  /** Topics with local listeners. */
  get topics(): string[] {
    return [...this.#listeners.keys()];
  }

  /** Hands a message from any path to the topic's listeners (once per id). */
  offer(message: EphemeralMessage): void {
    const listeners = this.#listeners.get(message.topic);
    if (!listeners) return;
    let seen = this.#seen.get(message.topic);
    if (!seen) this.#seen.set(message.topic, seen = new Set());
    if (seen.has(message.id)) return;
    seen.add(message.id);
    if (seen.size > SEEN_IDS) seen.delete(seen.values().next().value!);
    if (Date.now() - message.time > EPHEMERAL_TTL_MS) return;
    for (const listener of listeners) {
      if (message.time < listener.since) continue;
      listener.queue.push(message);
      if (listener.queue.length > LISTENER_QUEUE) listener.queue.shift();
      listener.wake?.();
    }
  }

  /** Ephemeral messages of a topic from now on. */
  async *listen<T>(
    topic: string,
    options: ListenOptions = {},
  ): AsyncGenerator<EphemeralMessage<T>> {
    const signal = options.signal;
    if (signal?.aborted) return;
    const listener: Listener = { since: preciseNow(), queue: [], wake: null };
    let listeners = this.#listeners.get(topic);
    if (!listeners) {
      this.#listeners.set(topic, listeners = new Set());
      this.#hooks.opened?.(topic);
    }
    listeners.add(listener);
    const onAbort = () => listener.wake?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal?.aborted) {
        const next = listener.queue.shift();
        if (next) {
          yield next as EphemeralMessage<T>;
          continue;
        }
        await new Promise<void>((resolve) => listener.wake = resolve);
        listener.wake = null;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(topic) === listeners) {
        this.#listeners.delete(topic);
        this.#seen.delete(topic);
        this.#hooks.closed?.(topic);
      }
    }
  }
}

/** The KV key holding a topic's recent ephemeral messages, watched by every isolate listening. */
export function mailboxKey(topic: string): Deno.KvKey {
  return ["topics", topic, "ephemeral"];
}

/** What a mailbox holds: the newest ephemeral messages of the last few seconds. */
export interface Mailbox {
  messages: EphemeralMessage[];
}

/** Messages per mailbox: a watch coalesces writes, so a watcher sees every recent one at once. */
const MAILBOX_SIZE = 32;

/**
 * Appends a message to a topic's mailbox (read, append, check-and-set; retried
 * on a conflict with another isolate). The mailbox expires when the topic falls
 * silent, so nothing outlives the ephemeral window by more than a few seconds.
 */
export async function appendToMailbox(kv: Deno.Kv, message: EphemeralMessage): Promise<void> {
  const key = mailboxKey(message.topic);
  for (let attempt = 0;; attempt++) {
    const current = await kv.get<Mailbox>(key);
    const now = Date.now();
    const messages = (current.value?.messages ?? [])
      .filter((kept) => now - kept.time < EPHEMERAL_TTL_MS)
      .concat(message)
      .slice(-MAILBOX_SIZE);
    const operation = kv.atomic().check(current).set(key, { messages } satisfies Mailbox, {
      expireIn: EPHEMERAL_TTL_MS * 2,
    });
    const result = await operation.commit();
    if (result.ok) return;
    if (attempt > 2) await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
  }
}
