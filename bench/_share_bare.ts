/**
 * @module
 * The baseline of bench/share.ts: a bare data-channel page pair served by the
 * benchmark itself. The sender reads the same file the same way (1 MiB slices,
 * 64 KiB messages, the same high/low-water backpressure) and sends raw bytes
 * with no protocol: no manifest, no hashing, no acknowledgements; the receiver
 * keeps the chunks the naive way (an array of ArrayBuffers, one Blob at the
 * end), as a minimal page must to hand over a file. Signaling is a tiny
 * WebSocket relay with a mailbox per room.
 */
import {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_HIGH_WATER_BYTES,
  DEFAULT_LOW_WATER_BYTES,
} from "../lib/file_share/mod.ts";

const PAGE = `<!doctype html><meta charset="utf-8"><title>bare</title>
<input type="file" id="file"><script type="module" src="/bare.js"></script>`;

const SCRIPT = `
const CHUNK = ${DEFAULT_CHUNK_BYTES}, HIGH = ${DEFAULT_HIGH_WATER_BYTES}, LOW = ${DEFAULT_LOW_WATER_BYTES};
const READ = 1024 * 1024;
const params = new URLSearchParams(location.search);
const role = params.get("role");
const ws = new WebSocket("ws://" + location.host + "/ws?room=" + params.get("room") + "&role=" + role);
const opened = new Promise((resolve) => ws.onopen = resolve);
const pc = new RTCPeerConnection({ iceServers: [] });
const signal = async (message) => { await opened; ws.send(JSON.stringify(message)); };
pc.onicecandidate = (event) => event.candidate && signal({ candidate: event.candidate.toJSON() });
ws.onmessage = async (event) => {
  const message = JSON.parse(event.data);
  if (message.offer) {
    await pc.setRemoteDescription(message.offer);
    await pc.setLocalDescription(await pc.createAnswer());
    signal({ answer: pc.localDescription.toJSON() });
  } else if (message.answer) await pc.setRemoteDescription(message.answer);
  else if (message.candidate) await pc.addIceCandidate(message.candidate).catch(() => {});
};
const now = () => performance.timeOrigin + performance.now();
window.result = null;
if (role === "receiver") {
  pc.ondatachannel = (event) => {
    const channel = event.channel;
    channel.binaryType = "arraybuffer";
    let total = -1, received = 0, startedAt = 0;
    const chunks = [];
    channel.onmessage = (message) => {
      if (typeof message.data === "string") { total = JSON.parse(message.data).size; startedAt = now(); return; }
      chunks.push(message.data);
      received += message.data.byteLength;
      if (received === total) {
        // The naive way to end up with a file: every chunk kept, one Blob at the end.
        window.file = new Blob(chunks);
        window.result = { startedAt, finishedAt: now(), bytes: window.file.size };
      }
    };
  };
} else {
  window.startSend = async () => {
    const file = document.getElementById("file").files[0];
    const channel = pc.createDataChannel("bare", { ordered: true });
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = LOW;
    await pc.setLocalDescription(await pc.createOffer());
    signal({ offer: pc.localDescription.toJSON() });
    await new Promise((resolve) => channel.onopen = resolve);
    channel.send(JSON.stringify({ size: file.size }));
    const read = (offset) => file.slice(offset, offset + READ).arrayBuffer();
    let next = read(0);
    for (let offset = 0; offset < file.size; offset += READ) {
      const bytes = new Uint8Array(await next);
      if (offset + READ < file.size) next = read(offset + READ);
      for (let start = 0; start < bytes.length; start += CHUNK) {
        if (channel.bufferedAmount + CHUNK > HIGH) {
          await new Promise((resolve) => channel.onbufferedamountlow = resolve);
        }
        channel.send(bytes.subarray(start, start + CHUNK));
      }
    }
  };
}
`;

/** Serves the bare pages and their signaling relay on a free port; stop with the returned server. */
export function serveBarePages(): Deno.HttpServer<Deno.NetAddr> {
  const rooms = new Map<string, Map<string, { socket?: WebSocket; mailbox: string[] }>>();
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/bare.js") {
      return new Response(SCRIPT, { headers: { "content-type": "text/javascript" } });
    }
    if (url.pathname === "/ws") {
      const room = url.searchParams.get("room") ?? "";
      const role = url.searchParams.get("role") ?? "";
      const other = role === "sender" ? "receiver" : "sender";
      const members = rooms.get(room) ?? new Map();
      rooms.set(room, members);
      const { socket, response } = Deno.upgradeWebSocket(request);
      const me = members.get(role) ?? { mailbox: [] };
      members.set(role, me);
      socket.onopen = () => {
        me.socket = socket;
        for (const message of me.mailbox.splice(0)) socket.send(message);
      };
      socket.onmessage = (event) => {
        const peer = members.get(other) ?? { mailbox: [] };
        members.set(other, peer);
        if (peer.socket?.readyState === WebSocket.OPEN) peer.socket.send(event.data);
        else peer.mailbox.push(event.data);
      };
      return response;
    }
    return new Response(PAGE, { headers: { "content-type": "text/html" } });
  });
}
