/**
 * @module
 * A minimal WebSocket client over a raw TCP connection (RFC 6455: handshake,
 * masked text frames, ping/pong, close) that writes each frame with one write
 * and sets TCP_NODELAY, like browsers do.
 *
 * Why not Deno's own `WebSocket`: between a Deno 2.9 client and a Deno server,
 * every frame above roughly 1.5 KiB takes about 43 ms (a Nagle / delayed-ACK
 * stall; a Node client to the same server, or a Deno client to a Node server,
 * sees well under 1 ms). Signaling offers are about 2 KiB, so a benchmark using
 * Deno's client would measure that stall, not the servers.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/**
 * Encodes one client frame. Client frames must be masked; the key here is
 * all zeros (valid: any key is), so the payload is copied as is instead of
 * XORed byte by byte in JavaScript, which would make this client the
 * bottleneck of the throughput runs.
 */
function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const length = payload.length;
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const bytes = new Uint8Array(2 + extra + 4 + length);
  bytes[0] = 0x80 | opcode;
  if (extra === 0) bytes[1] = 0x80 | length;
  else if (extra === 2) {
    bytes[1] = 0x80 | 126;
    new DataView(bytes.buffer).setUint16(2, length);
  } else {
    bytes[1] = 0x80 | 127;
    new DataView(bytes.buffer).setBigUint64(2, BigInt(length));
  }
  // Mask key 0x00000000 at bytes[2 + extra …] (already zero): payload XOR 0 is the payload.
  bytes.set(payload, 2 + extra + 4);
  return bytes;
}

/** A connected WebSocket. Text messages go to `onmessage`. */
export class RawWebSocket {
  #conn: Deno.TcpConn;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  #handler: ((text: string) => void) | null = null;
  /** Messages that arrived before a handler was set (e.g. with the handshake response). */
  #early: string[] = [];
  /** Resolves when the connection is gone. */
  readonly done: Promise<void>;

  /** Receives every text message; messages that came before it was set are handed over first. */
  set onmessage(handler: (text: string) => void) {
    this.#handler = handler;
    for (const text of this.#early.splice(0)) handler(text);
  }

  private constructor(conn: Deno.TcpConn, leftover: Uint8Array) {
    this.#conn = conn;
    this.done = this.#read(leftover).catch(() => {}).finally(() => this.#closed = true);
  }

  /** Opens `ws://host:port/path?query` and completes the handshake. */
  static async connect(url: string): Promise<RawWebSocket> {
    const target = new URL(url);
    const conn = await Deno.connect({
      hostname: target.hostname,
      port: Number(target.port || 80),
    });
    conn.setNoDelay(true);
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await writeAll(
      conn,
      encoder.encode(
        `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
          `Sec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    let buffer: Uint8Array = new Uint8Array(0);
    const chunk = new Uint8Array(16 * 1024);
    while (true) {
      const read = await conn.read(chunk);
      if (read === null) throw new Error(`${url}: connection closed during the handshake`);
      buffer = concat(buffer, chunk.subarray(0, read));
      const text = decoder.decode(buffer);
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) continue;
      const head = text.slice(0, end);
      if (!/^HTTP\/1\.1 101 /.test(head)) {
        conn.close();
        throw new Error(`${url}: ${head.split("\r\n")[0]}`);
      }
      const headBytes = encoder.encode(text.slice(0, end + 4)).length;
      return new RawWebSocket(conn, buffer.subarray(headBytes));
    }
  }

  /** Sends a text message (one TCP write). */
  send(text: string): void {
    this.#write(frame(0x1, encoder.encode(text)));
  }

  /** Sends a close frame and waits until the server closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#write(frame(0x8, new Uint8Array([0x03, 0xe8])));
    const timer = setTimeout(() => this.#conn.close(), 2000);
    await this.done;
    clearTimeout(timer);
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }

  #write(bytes: Uint8Array): void {
    this.#writing = this.#writing.then(() => writeAll(this.#conn, bytes)).catch(() => {});
  }

  async #read(initial: Uint8Array): Promise<void> {
    let buffer = initial;
    let fragments: Uint8Array[] = [];
    const chunk = new Uint8Array(256 * 1024);
    while (true) {
      // Parse every complete frame in the buffer.
      while (buffer.length >= 2) {
        const fin = (buffer[0]! & 0x80) !== 0;
        const opcode = buffer[0]! & 0x0f;
        let length = buffer[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) break;
          length = new DataView(buffer.buffer, buffer.byteOffset).getUint16(2);
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) break;
          length = Number(new DataView(buffer.buffer, buffer.byteOffset).getBigUint64(2));
          offset = 10;
        }
        if (buffer.length < offset + length) break;
        const payload = buffer.slice(offset, offset + length);
        buffer = buffer.subarray(offset + length);
        if (opcode === 0x8) {
          this.#write(frame(0x8, payload.subarray(0, 2)));
          await this.#writing;
          return;
        }
        if (opcode === 0x9) {
          this.#write(frame(0xa, payload));
          continue;
        }
        if (opcode === 0x1 || opcode === 0x2 || opcode === 0x0) {
          fragments.push(payload);
          if (!fin) continue;
          const whole = fragments.length === 1
            ? fragments[0]!
            : fragments.reduce((joined, part) => concat(joined, part));
          fragments = [];
          const text = decoder.decode(whole);
          if (this.#handler) this.#handler(text);
          else this.#early.push(text);
        }
      }
      const read = await this.#conn.read(chunk);
      if (read === null) return;
      buffer = buffer.length ? concat(buffer, chunk.subarray(0, read)) : chunk.slice(0, read);
    }
  }
}
