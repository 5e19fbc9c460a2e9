/**
 * A notification from a text body and ntfy-style headers, for
 * `POST /api/notify/:userId` (`curl -d "Backup done" …`). Browser-safe (no Deno,
 * no zod): the result is checked against the `message` type like any publish.
 */

/** The `data` of a `message` notification, as the headers and body give it. */
export interface OneLineMessage {
  message: string;
  title?: string;
  tags?: string[];
  priority?: number;
  link?: string;
}

/** Priority names ntfy accepts, by number. */
const PRIORITY_NAMES: Record<string, number> = {
  min: 1,
  low: 2,
  default: 3,
  high: 4,
  urgent: 5,
  max: 5,
};

/** A header by any of its ntfy spellings (`Title`, `X-Title`, `t`), first one set. */
function header(headers: Headers, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = headers.get(name)?.trim();
    if (value) return value;
  }
  return undefined;
}

/** Why a one-line publish could not become a notification. */
export class OneLineError extends Error {
  override name = "OneLineError";
  /** `missing_message` (empty body) or `invalid_priority`. */
  readonly code: "missing_message" | "invalid_priority";
  constructor(code: OneLineError["code"], message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * The `message` data for a text body and its headers: `Title`, `Tags` (comma
 * separated), `Priority` (1-5 or `min`, `low`, `default`, `high`, `urgent`,
 * `max`) and `Click` (a link), each also as `X-Title` … or ntfy's short names
 * (`t`, `ta`, `p`). Throws {@linkcode OneLineError} for an empty body or an
 * unknown priority; the rest is validated by the `message` type's schema.
 *
 * @example
 * ```ts
 * const data = oneLineMessage("Backup done\n", new Headers({ Title: "nas01", Tags: "disk,ok" }));
 * // { message: "Backup done", title: "nas01", tags: ["disk", "ok"] }
 * ```
 */
export function oneLineMessage(body: string, headers: Headers): OneLineMessage {
  const message = body.trim();
  if (!message) {
    throw new OneLineError("missing_message", "The body is the message: send some text");
  }
  const data: OneLineMessage = { message };
  const title = header(headers, ["title", "x-title", "t"]);
  if (title) data.title = title;
  const tags = header(headers, ["tags", "x-tags", "tag", "ta"]);
  if (tags) {
    const list = tags.split(",").map((tag) => tag.trim()).filter(Boolean);
    if (list.length) data.tags = list;
  }
  const priority = header(headers, ["priority", "x-priority", "prio", "p"]);
  if (priority) {
    const value = /^[1-5]$/.test(priority)
      ? Number(priority)
      : PRIORITY_NAMES[priority.toLowerCase()];
    if (value === undefined) {
      throw new OneLineError(
        "invalid_priority",
        `Priority "${priority.slice(0, 20)}" is not 1-5 or min, low, default, high, urgent, max`,
      );
    }
    data.priority = value;
  }
  const click = header(headers, ["click", "x-click"]);
  if (click) data.link = click;
  return data;
}
