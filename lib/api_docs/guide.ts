import { Marked, type Tokens } from "marked";

/** A guide rendered to HTML, with its title and second-level headings. */
export interface RenderedGuide {
  title: string;
  html: string;
  /** `## ` headings with their anchor ids, for a contents list. */
  headings: { id: string; text: string }[];
}

/** Options of {@linkcode renderGuide}. */
export interface RenderGuideOptions {
  /** Guide names a relative `name.md` link may point to; those links become `linkBase + name`. */
  guides?: readonly string[];
  /** Default `/docs/guides/`. */
  linkBase?: string;
}

/**
 * A GitHub-style anchor id for a heading's text.
 *
 * @example
 * ```ts
 * headingId("Acks and re-sends"); // "acks-and-re-sends"
 * headingId("`POST /api/upload`"); // "post-apiupload"
 * ```
 */
export function headingId(text: string): string {
  return text.toLowerCase().trim().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

function plainText(markdown: string): string {
  return markdown.replace(/[`*_]/g, "").replace(/\[([^\]]*)\]\([^)]*\)/g, "$1");
}

/**
 * Renders one of our Markdown guides (GitHub-flavoured: tables, fenced code)
 * to HTML: headings get anchor ids, and links between guides (`chat.md#x`)
 * point to their pages. The guides are our own files, so their HTML is trusted.
 */
export function renderGuide(markdown: string, options: RenderGuideOptions = {}): RenderedGuide {
  const guides = new Set(options.guides ?? []);
  const linkBase = options.linkBase ?? "/docs/guides/";
  const used = new Map<string, number>();
  const headings: RenderedGuide["headings"] = [];
  let title = "";
  const marked = new Marked({
    gfm: true,
    walkTokens(token) {
      if (token.type !== "link") return;
      const link = token as Tokens.Link;
      const match = /^(?:\.\/)?([a-z0-9_]+)\.md(#.*)?$/.exec(link.href);
      if (match && guides.has(match[1]!)) link.href = `${linkBase}${match[1]}${match[2] ?? ""}`;
    },
    renderer: {
      heading(token) {
        const text = plainText(token.text);
        const base = headingId(text) || "section";
        const seen = used.get(base) ?? 0;
        used.set(base, seen + 1);
        const id = seen ? `${base}-${seen}` : base;
        if (token.depth === 1 && !title) title = text;
        if (token.depth === 2) headings.push({ id, text });
        const inner = this.parser.parseInline(token.tokens);
        return `<h${token.depth} id="${id}"><a class="anchor" href="#${id}">${inner}</a></h${token.depth}>\n`;
      },
    },
  });
  const html = marked.parse(markdown, { async: false });
  return { title, html, headings };
}
