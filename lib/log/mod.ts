/**
 * @module
 * Structured logs: one JSON line per event with a level. Every record passes
 * through `redact` (lib/redaction, the same list traces use): fields whose
 * names look like credentials are replaced, and token-shaped strings are
 * masked, so tokens and secrets never reach the log.
 */

import { redact } from "../redaction/mod.ts";

export { redact };

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A logger that writes JSON lines. */
export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** The last warnings and errors of an isolate, for the admin dashboard. */
export class RecentProblems {
  #records: Array<Record<string, unknown>> = [];
  #limit: number;

  constructor(limit = 30) {
    this.#limit = limit;
  }

  push(record: Record<string, unknown>): void {
    this.#records.push(record);
    if (this.#records.length > this.#limit) this.#records.shift();
  }

  /** Oldest first. */
  list(): Array<Record<string, unknown>> {
    return [...this.#records];
  }
}

/** Creates a logger writing to `write` (default: stdout) at `level` and above. */
export function createLogger(
  options: {
    level?: LogLevel;
    isolate?: string;
    write?: (line: string) => void;
    /** Also keeps warnings and errors here (whatever the level). */
    recent?: RecentProblems;
  } = {},
): Logger {
  const minimum = ORDER[options.level ?? "info"];
  const write = options.write ?? ((line: string) => console.log(line));
  function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
    if (ORDER[level] < minimum && !(options.recent && ORDER[level] >= ORDER.warn)) return;
    const record = {
      time: new Date().toISOString(),
      level,
      event,
      isolate: options.isolate,
      ...(redact(fields) as Record<string, unknown>),
    };
    if (ORDER[level] >= ORDER.warn) options.recent?.push(record);
    if (ORDER[level] >= minimum) write(JSON.stringify(record));
  }
  return {
    debug: (event, fields) => log("debug", event, fields),
    info: (event, fields) => log("info", event, fields),
    warn: (event, fields) => log("warn", event, fields),
    error: (event, fields) => log("error", event, fields),
  };
}
