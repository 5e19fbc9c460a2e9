import type { ComponentType } from "preact";
import { markIslandUsed, nextIslandId, serializeProps } from "../lib/islands/mod.ts";

/**
 * Renders an island on the server and marks it for hydration in the browser.
 * `name` must equal the island's file name in `islands/`.
 */
export function Island<P extends Record<string, unknown>>(
  { name, component: Component, props }: { name: string; component: ComponentType<P>; props: P },
) {
  markIslandUsed(name);
  const id = nextIslandId();
  return (
    <>
      <script
        type="application/json"
        id={id}
        // deno-lint-ignore react-no-danger
        dangerouslySetInnerHTML={{ __html: serializeProps(props) }}
      />
      <div data-island={name} data-props={id} class="island">
        <Component {...props} />
      </div>
    </>
  );
}
