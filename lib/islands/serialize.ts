const UNSAFE = /[<>&\u2028\u2029]/g;
const ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/**
 * JSON for a `<script type="application/json">` element. `<`, `>` and `&` are
 * escaped, so a prop holding `</script>` or `<!--` cannot end the element.
 *
 * @example
 * ```ts
 * serializeProps({ name: "</script>" }); // '{"name":"\\u003c/script\\u003e"}'
 * ```
 */
export function serializeProps(props: unknown): string {
  return JSON.stringify(props ?? {}).replace(UNSAFE, (char) => ESCAPES[char]!);
}
