/** A fenced code block of a Markdown document. */
export interface FencedBlock {
  /** The first word of the info string (`sh`, `text`, `json`), or "" when none. */
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/**
 * The fenced code blocks (``` or ~~~) of a Markdown document, in order. Blocks
 * indented inside lists lose that indentation.
 *
 * @example
 * ```ts
 * fencedBlocks("Intro\n\n~~~sh\necho hi\n~~~\n");
 * // [{ lang: "sh", code: "echo hi", line: 3 }]
 * ```
 */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: FencedBlock[] = [];
  let open: { fence: string; indent: number; lang: string; line: number; body: string[] } | null =
    null;
  for (const [index, text] of lines.entries()) {
    const match = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(text);
    if (!open) {
      if (match) {
        open = {
          fence: match[2]!,
          indent: match[1]!.length,
          lang: match[3] ?? "",
          line: index + 1,
          body: [],
        };
      }
      continue;
    }
    const closing = new RegExp(`^\\s*${open.fence[0]}{${open.fence.length},}\\s*$`);
    if (closing.test(text)) {
      blocks.push({ lang: open.lang, code: open.body.join("\n"), line: open.line });
      open = null;
      continue;
    }
    const indent = /^\s*/.exec(text)![0].length;
    open.body.push(text.slice(Math.min(indent, open.indent)));
  }
  return blocks;
}
