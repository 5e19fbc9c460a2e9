/**
 * The Deno baseline of the signaling benchmark: the least a Deno signaling relay
 * can do, on the PeerJS wire protocol so the same client drives it. A socket
 * connects to /peerjs?id=<peer>, gets `{"type":"OPEN"}`, and every frame it
 * sends is parsed, given `src`, and sent to the socket of its `dst`. No
 * storage, no auth, no validation, no queue for an absent peer: what is left is
 * the cost of Deno's WebSocket and JSON, which any Deno relay pays.
 * Run: deno run -A bench/_relay_bare.ts <port>
 */
const port = Number(Deno.args[0] ?? 8791);
const peers = new Map<string, WebSocket>();

Deno.serve(
  { port, hostname: "127.0.0.1", onListen: () => console.log("ready") },
  (request) => {
    const url = new URL(request.url);
    const id = url.searchParams.get("id");
    if (url.pathname !== "/peerjs" || !id) return new Response("not found", { status: 404 });
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onopen = () => {
      peers.set(id, socket);
      socket.send('{"type":"OPEN"}');
    };
    socket.onclose = () => {
      if (peers.get(id) === socket) peers.delete(id);
    };
    socket.onmessage = (message: MessageEvent<string>) => {
      const frame = JSON.parse(message.data);
      peers.get(frame.dst)?.send(JSON.stringify({ ...frame, src: id }));
    };
    return response;
  },
);
