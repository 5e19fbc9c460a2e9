/**
 * @module
 * A V8 inspector session on a benchmark's server process (started with
 * `--inspect=127.0.0.1:<port>`): forces a garbage collection and reads the JS
 * heap, so memory figures can be taken without the garbage a process has not
 * collected yet.
 */

/** An open inspector session. */
export interface InspectorSession extends AsyncDisposable {
  collectGarbage(): Promise<void>;
  /** Bytes of JS heap in use. */
  heapUsed(): Promise<number>;
}

/** Connects to the inspector on `port` (waits up to 10 s for it to listen). */
export async function connectInspector(port: number): Promise<InspectorSession> {
  let targets: Array<{ webSocketDebuggerUrl: string }> = [];
  for (const deadline = Date.now() + 10_000; !targets.length;) {
    try {
      targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  let lastId = 0;
  const waiting = new Map<number, (result: Record<string, unknown>) => void>();
  socket.onmessage = (message) => {
    const reply = JSON.parse(String(message.data));
    waiting.get(reply.id)?.(reply.result ?? {});
    waiting.delete(reply.id);
  };
  const call = (method: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = ++lastId;
      waiting.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params: {} }));
    });
  return {
    async collectGarbage() {
      await call("HeapProfiler.collectGarbage");
    },
    async heapUsed() {
      return (await call("Runtime.getHeapUsage")).usedSize as number;
    },
    [Symbol.asyncDispose]() {
      socket.close();
      return Promise.resolve();
    },
  };
}
