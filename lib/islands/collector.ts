// Rendering to a string is synchronous, so one collector at a time is enough.
let current: { names: Set<string>; counter: number } | null = null;

/** Runs `render` and returns its result with the names of the islands it used. */
export function collectIslands<T>(render: () => T): { result: T; islands: string[] } {
  const previous = current;
  current = { names: new Set(), counter: 0 };
  try {
    const result = render();
    return { result, islands: [...current.names] };
  } finally {
    current = previous;
  }
}

/** Records that the page being rendered uses island `name`. */
export function markIslandUsed(name: string): void {
  current?.names.add(name);
}

/** A page-unique id for an island's props element. */
export function nextIslandId(): string {
  if (!current) return `island-${crypto.randomUUID()}`;
  current.counter += 1;
  return `island-${current.counter}`;
}
