import { idTime } from "../ids/mod.ts";
import { type Broker, formatCursor, type Position, type TopicEvent } from "../realtime/mod.ts";
import { ChatError } from "./errors.ts";
import type { ChatMessage } from "./protocol.ts";
import { chatMessageSchema } from "./schemas.ts";

/** The topic holding a channel's messages. */
export function channelTopic(channelId: string): string {
  return `channel:${channelId}`;
}

/** The message an event carries, or null when the stored value is not a message. */
export function messageOf(event: TopicEvent<unknown>): ChatMessage | null {
  const parsed = chatMessageSchema.safeParse(event.data);
  return parsed.success ? parsed.data : null;
}

function messagesOf(events: TopicEvent<unknown>[]): ChatMessage[] {
  return events.flatMap((event) => {
    const message = messageOf(event);
    return message ? [message] : [];
  });
}

/** The newest messages of a channel and where a live stream continues from. */
export interface LatestMessages {
  /** Oldest first. */
  messages: ChatMessage[];
  /** The channel's head when read: the stream resumes after it. Null for an empty channel. */
  position: Position | null;
  /** Cursor to page back from (the oldest returned message), or null when nothing is older. */
  historyBefore: string | null;
}

/**
 * The newest `limit` messages, oldest first, and the position a stream continues
 * from so that it misses nothing and repeats nothing: the newest listed message
 * (the list and a head read run together, one round trip). Only when the list is
 * empty while the channel has a head (a message arriving between the two, or
 * every message expired) is the log read again up to that head.
 */
export async function latestMessages(
  broker: Broker,
  channelId: string,
  options: { limit: number },
): Promise<LatestMessages> {
  const topic = channelTopic(channelId);
  let [head, events] = await Promise.all([
    broker.head(topic),
    broker.history(topic, { reverse: true, limit: options.limit + 1 }),
  ]);
  if (!head && events.length === 0) return { messages: [], position: null, historyBefore: null };
  if (events.length === 0 && head) {
    events = await broker.history(topic, {
      before: head.offset + 1,
      reverse: true,
      limit: options.limit + 1,
    });
  }
  const newest = events[0];
  const page = events.slice(0, options.limit).reverse();
  const oldest = page[0];
  return {
    messages: messagesOf(page),
    position: newest ? { offset: newest.offset, epoch: newest.epoch } : head,
    historyBefore: events.length > options.limit && oldest ? formatCursor(oldest) : null,
  };
}

/** One page of history. */
export interface HistoryPage {
  /** Oldest first within the page. */
  messages: ChatMessage[];
  /** Pass as `before` for the page before this one; null at the beginning of the history. */
  nextBefore: string | null;
}

/**
 * A page of messages before a position (newest page first when paging back,
 * oldest first within the page). A position from an older epoch of the log
 * yields an empty page: those messages are gone.
 */
export async function messagesBefore(
  broker: Broker,
  channelId: string,
  options: { before?: Position | null | undefined; limit: number },
): Promise<HistoryPage> {
  const topic = channelTopic(channelId);
  const head = await broker.head(topic);
  if (!head) return { messages: [], nextBefore: null };
  const before = options.before;
  if (before && before.epoch !== "" && before.epoch !== head.epoch) {
    return { messages: [], nextBefore: null };
  }
  const events = await broker.history(topic, {
    before: before ? before.offset : head.offset + 1,
    reverse: true,
    limit: options.limit + 1,
  });
  const page = events.slice(0, options.limit).reverse();
  const oldest = page[0];
  return {
    messages: messagesOf(page),
    nextBefore: events.length > options.limit && oldest ? formatCursor(oldest) : null,
  };
}

/** Clock difference between isolates tolerated when a scan stops early. */
const CLOCK_SKEW_MS = 60_000;
const SCAN_PAGE = 250;

/**
 * How many of a channel's newest events {@linkcode findMessage} reads at most
 * (four KV list pages). Ids further back are `unknown_message`: a client that
 * far behind reloads the history instead of making the server walk up to the
 * whole retained log (10,000 events) for every `sync` or `before=` it sends.
 */
export const MESSAGE_SCAN_LIMIT = 1000;

/**
 * Finds the event that stored a message, scanning back from the head. An id
 * is a ULID minted just before its publish, so once the scan reaches events
 * older than the id's time (less a clock allowance) the message cannot be
 * further back and the scan stops; in any case it stops after the newest
 * {@linkcode MESSAGE_SCAN_LIMIT} events, so an ancient or made-up id costs a
 * bounded read.
 */
export async function findMessage(
  broker: Broker,
  channelId: string,
  messageId: string,
): Promise<TopicEvent<ChatMessage> | null> {
  const topic = channelTopic(channelId);
  let madeAt: number;
  try {
    madeAt = idTime(messageId);
  } catch {
    return null;
  }
  let before: number | undefined;
  let scanned = 0;
  while (scanned < MESSAGE_SCAN_LIMIT) {
    const limit = Math.min(SCAN_PAGE, MESSAGE_SCAN_LIMIT - scanned);
    const events = await broker.history(topic, { before, reverse: true, limit });
    scanned += events.length;
    for (const event of events) {
      const message = messageOf(event);
      if (message?.id === messageId) return { ...event, data: message };
      if (event.time < madeAt - CLOCK_SKEW_MS) return null;
    }
    const oldest = events[events.length - 1];
    if (!oldest || events.length < limit || oldest.offset <= 1) return null;
    before = oldest.offset;
  }
  return null;
}

/** Messages after a given one. */
export interface MessagesAfter {
  messages: ChatMessage[];
  /** More messages follow: ask again after the last one returned. */
  hasMore: boolean;
}

/**
 * Exactly the messages stored after `afterMessageId`, in order, at most
 * `limit` of them and about `maxBytes` of JSON. Throws `unknown_message` when
 * the id is not among the channel's newest {@linkcode MESSAGE_SCAN_LIMIT} events.
 */
export async function messagesAfter(
  broker: Broker,
  channelId: string,
  afterMessageId: string,
  options: { limit: number; maxBytes: number },
): Promise<MessagesAfter> {
  const found = await findMessage(broker, channelId, afterMessageId);
  if (!found) {
    throw new ChatError(
      "unknown_message",
      `Message "${afterMessageId}" is not among the newest ${MESSAGE_SCAN_LIMIT} messages of ` +
        `#${channelId}; reload the history`,
    );
  }
  const events = await broker.history(channelTopic(channelId), {
    after: found.offset,
    limit: options.limit + 1,
  });
  const messages: ChatMessage[] = [];
  let bytes = 0;
  let hasMore = events.length > options.limit;
  for (const event of events.slice(0, options.limit)) {
    const message = messageOf(event);
    if (!message) continue;
    bytes += JSON.stringify(message).length;
    if (bytes > options.maxBytes && messages.length > 0) {
      hasMore = true;
      break;
    }
    messages.push(message);
  }
  return { messages, hasMore };
}
