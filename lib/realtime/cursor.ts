import type { Position } from "./types.ts";

/**
 * The wire form of a position, used as SSE `id:` and WebSocket `cursor`:
 * `<epoch>-<offset>`, e.g. `k2x9fq1a-42`.
 */
export function formatCursor(position: Position): string {
  return `${position.epoch}-${position.offset}`;
}

/**
 * Parses a cursor. A bare number is accepted too (an offset in whatever epoch is
 * current). Returns null for anything else.
 */
export function parseCursor(text: string | null | undefined): Position | null {
  if (!text) return null;
  const bare = /^\d{1,15}$/.exec(text);
  if (bare) return { offset: Number(text), epoch: "" };
  const match = /^([a-z0-9]{1,16})-(\d{1,15})$/.exec(text);
  if (!match) return null;
  return { epoch: match[1]!, offset: Number(match[2]) };
}
