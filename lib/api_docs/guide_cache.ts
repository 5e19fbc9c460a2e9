import type { RenderedGuide } from "./guide.ts";

/** Reads and renders one guide by name; null when its file is missing. */
export type GuideLoader = (name: string) => Promise<RenderedGuide | null>;

/**
 * Rendered guides by name, for a fixed list of names. A name outside the list
 * is answered with null without being loaded or remembered, so requests for
 * made-up names (`/docs/guides/<anything>`) cannot grow the cache: it never
 * holds more entries than the list has names.
 *
 * @example
 * ```ts
 * import { renderGuide } from "./guide.ts";
 *
 * const guides = new GuideCache(["api"], async (name) => {
 *   const markdown = await Deno.readTextFile(`docs/${name}.md`).catch(() => null);
 *   return markdown === null ? null : renderGuide(markdown);
 * });
 * await guides.get("api"); // rendered once, then from the cache
 * await guides.get("nope"); // null, not cached
 * guides.size; // 1
 * ```
 */
export class GuideCache {
  #names: ReadonlySet<string>;
  #load: GuideLoader;
  #rendered = new Map<string, Promise<RenderedGuide | null>>();

  constructor(names: readonly string[], load: GuideLoader) {
    this.#names = new Set(names);
    this.#load = load;
  }

  /** The rendered guide, or null for a name outside the list or a missing file. */
  get(name: string): Promise<RenderedGuide | null> {
    if (!this.#names.has(name)) return Promise.resolve(null);
    let rendered = this.#rendered.get(name);
    if (!rendered) {
      rendered = this.#load(name);
      this.#rendered.set(name, rendered);
      // A failed read (e.g. a transient file error) is retried on the next request.
      rendered.catch(() => this.#rendered.delete(name));
    }
    return rendered;
  }

  /** How many guides are cached (at most the number of names in the list). */
  get size(): number {
    return this.#rendered.size;
  }
}
