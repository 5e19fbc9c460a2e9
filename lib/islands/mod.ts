/**
 * @module
 * Server side of islands, Fresh-style without Fresh: which islands a page used,
 * how their props are serialized safely, and where their bundles are.
 */
export { collectIslands, markIslandUsed, nextIslandId } from "./collector.ts";
export { serializeProps } from "./serialize.ts";
export { type IslandManifest, readIslandManifest } from "./manifest.ts";
