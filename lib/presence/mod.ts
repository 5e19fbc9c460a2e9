/**
 * @module
 * Presence: who is connected to a scope (a chat channel, a transfer), with join,
 * leave and status changes published on the topic `presence:<scope>`.
 */
export * from "./types.ts";
export { KvPresence, type KvPresenceOptions } from "./kv_presence.ts";
export { MemoryPresence } from "./memory_presence.ts";
