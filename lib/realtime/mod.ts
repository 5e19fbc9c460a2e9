/**
 * @module
 * The realtime core: topics with gapless offsets, a {@linkcode Broker} interface
 * with an in-memory and a Deno KV implementation, cursors for resuming, and
 * retention per topic kind.
 *
 * @example
 * ```ts
 * const broker = new MemoryBroker();
 * const event = await broker.publish("user:ada", { hello: "world" });
 * for await (const item of broker.subscribe("user:ada", { since: { offset: 0, epoch: event.epoch } })) {
 *   console.log(item); // { kind: "event", event: { offset: 1, ... } }
 *   break;
 * }
 * ```
 */
export * from "./types.ts";
export { MemoryBroker } from "./memory_broker.ts";
export { type CommitReport, KvBroker, type KvBrokerOptions } from "./kv_broker.ts";
export { formatCursor, parseCursor } from "./cursor.ts";
export { parseSinceTime, positionAtTime } from "./since.ts";
export { retentionFor, TOPIC_PATTERN } from "./retention.ts";
