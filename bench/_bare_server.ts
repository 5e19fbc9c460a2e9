/**
 * The baseline: a bare `Deno.serve` broadcast loop with no storage, no auth and no
 * ordering guarantees. WebSocket clients on /ws, SSE clients on /sse; POST /publish
 * sends the body to every client, wrapped in the same frame shape (and SSE `id:`
 * line) Switchboard sends, so both put the same bytes on the wire and the load
 * generator parses the same frames. Run: deno run -A bench/_bare_server.ts <port>
 */
const port = Number(Deno.args[0] ?? 8790);
const sockets = new Set<WebSocket>();
const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
const encoder = new TextEncoder();
let offset = 0;

Deno.serve(
  { port, hostname: "127.0.0.1", onListen: () => console.log("ready") },
  async (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/ws") {
      const { socket, response } = Deno.upgradeWebSocket(request);
      socket.onopen = () => sockets.add(socket);
      socket.onclose = () => sockets.delete(socket);
      return response;
    }
    if (url.pathname === "/sse") {
      let own: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          own = controller;
          streams.add(controller);
          controller.enqueue(encoder.encode(": connected\n\n"));
        },
        cancel() {
          streams.delete(own);
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    if (url.pathname === "/publish" && request.method === "POST") {
      offset += 1;
      const cursor = `bare0000-${offset}`;
      const text = JSON.stringify({
        type: "event",
        topic: "app:bare",
        offset,
        cursor,
        time: Date.now(),
        data: JSON.parse(await request.text()),
      });
      for (const socket of sockets) if (socket.readyState === WebSocket.OPEN) socket.send(text);
      const chunk = encoder.encode(`id: ${cursor}\ndata: ${text}\n\n`);
      for (const stream of streams) stream.enqueue(chunk);
      return new Response(null, { status: 202 });
    }
    return new Response("ok");
  },
);
