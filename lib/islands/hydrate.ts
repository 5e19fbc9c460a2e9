/**
 * @module
 * Browser side of islands: finds each server-rendered island of one kind and
 * hydrates it with the props the server serialized next to it.
 */
import { type ComponentType, h, hydrate } from "preact";

/** Hydrates every `[data-island=name]` element on the page with `component`. */
export function hydrateIslands(
  name: string,
  component: ComponentType<Record<string, unknown>>,
): void {
  const roots = document.querySelectorAll<HTMLElement>(`[data-island="${name}"]`);
  for (const root of roots) {
    const propsElement = document.getElementById(root.dataset.props ?? "");
    const props = propsElement?.textContent ? JSON.parse(propsElement.textContent) : {};
    hydrate(h(component, props), root);
    root.dataset.hydrated = "true";
  }
}
