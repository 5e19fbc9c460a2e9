/**
 * @module
 * JSON from untrusted text with a bound on nesting. `JSON.parse` itself copes
 * with any depth, but everything that walks the value afterwards (zod, the
 * size checks, KV's serializer) recurses, and thousands of levels of `[[[…]]]`
 * overflow the stack there: a 500 instead of a 400. The depth is counted on the
 * text before parsing, in one pass and without building anything.
 *
 * @example
 * ```ts
 * parseJson('{"a":[1,2]}'); // { a: [1, 2] }
 * parseJson("[".repeat(200) + "]".repeat(200)); // throws JsonDepthError
 * ```
 */

/** The deepest nesting of objects and arrays that {@linkcode parseJson} accepts by default. */
export const MAX_JSON_DEPTH = 128;

/** The text nests objects and arrays deeper than the limit. */
export class JsonDepthError extends SyntaxError {
  override name = "JsonDepthError";
  readonly maxDepth: number;

  constructor(maxDepth: number) {
    super(`JSON nests objects and arrays deeper than ${maxDepth} levels`);
    this.maxDepth = maxDepth;
  }
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when `text` opens more than `maxDepth` objects or arrays inside each
 * other (brackets inside strings do not count). Text that is not JSON gets
 * some answer; `JSON.parse` rejects it afterwards anyway.
 */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === BACKSLASH) index += 1;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth -= 1;
    }
  }
  return false;
}

/**
 * `JSON.parse(text)`, refusing nesting deeper than `maxDepth` (default
 * {@linkcode MAX_JSON_DEPTH}) with a {@linkcode JsonDepthError} before parsing.
 * Bad JSON throws `JSON.parse`'s `SyntaxError`.
 */
export function parseJson(text: string, options: { maxDepth?: number } = {}): unknown {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  if (nestsDeeperThan(text, maxDepth)) throw new JsonDepthError(maxDepth);
  return JSON.parse(text);
}
