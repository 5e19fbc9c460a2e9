/**
 * @module
 * A tiny STUN/TURN client over UDP (RFC 5389, RFC 5766), just enough to prove
 * that a real TURN server accepts credentials: a Binding request (to see that
 * the server is up) and an Allocate with the long-term credential mechanism
 * (401 with REALM and NONCE, then MESSAGE-INTEGRITY keyed by
 * MD5(username:realm:password)).
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { createHash, createHmac, randomBytes } from "node:crypto";

const MAGIC_COOKIE = 0x2112a442;
const METHOD = { binding: 0x0001, allocate: 0x0003 } as const;
const CLASS = { request: 0x0000, success: 0x0100, error: 0x0110 } as const;
const ATTRIBUTE = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  lifetime: 0x000d,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedTransport: 0x0019,
  xorMappedAddress: 0x0020,
} as const;

interface Attribute {
  type: number;
  value: Buffer;
}

interface StunMessage {
  type: number;
  transactionId: Buffer;
  attributes: Attribute[];
  raw: Buffer;
}

/** A transport address. */
export interface Address {
  address: string;
  port: number;
}

/** The outcome of an Allocate. */
export type AllocateResult =
  | {
    ok: true;
    relayed: Address;
    mapped: Address | null;
    lifetime: number;
    integrityValid: boolean;
  }
  | { ok: false; errorCode: number; reason: string };

function attribute(type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

function header(type: number, length: number, transactionId: Buffer): Buffer {
  const buffer = Buffer.alloc(20);
  buffer.writeUInt16BE(type, 0);
  buffer.writeUInt16BE(length, 2);
  buffer.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(buffer, 8);
  return buffer;
}

/** Encodes a message; with `integrityKey`, appends MESSAGE-INTEGRITY over everything before it. */
function encode(
  type: number,
  transactionId: Buffer,
  attributes: Attribute[],
  integrityKey?: Buffer,
): Buffer {
  const body = Buffer.concat(attributes.map((item) => attribute(item.type, item.value)));
  if (!integrityKey) return Buffer.concat([header(type, body.length, transactionId), body]);
  // The length in the header counts the MESSAGE-INTEGRITY attribute (4 + 20 bytes).
  const signed = Buffer.concat([header(type, body.length + 24, transactionId), body]);
  const mac = createHmac("sha1", integrityKey).update(signed).digest();
  return Buffer.concat([signed, attribute(ATTRIBUTE.messageIntegrity, mac)]);
}

function decode(raw: Buffer): StunMessage | null {
  if (raw.length < 20 || raw.readUInt32BE(4) !== MAGIC_COOKIE) return null;
  const length = raw.readUInt16BE(2);
  const attributes: Attribute[] = [];
  let offset = 20;
  while (offset + 4 <= 20 + length && offset + 4 <= raw.length) {
    const type = raw.readUInt16BE(offset);
    const size = raw.readUInt16BE(offset + 2);
    attributes.push({ type, value: raw.subarray(offset + 4, offset + 4 + size) });
    offset += 4 + Math.ceil(size / 4) * 4;
  }
  return { type: raw.readUInt16BE(0), transactionId: raw.subarray(8, 20), attributes, raw };
}

function find(message: StunMessage, type: number): Buffer | undefined {
  return message.attributes.find((item) => item.type === type)?.value;
}

function xorAddress(value: Buffer): Address {
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const address = (value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
  return { address: [24, 16, 8, 0].map((shift) => (address >>> shift) & 0xff).join("."), port };
}

function errorOf(message: StunMessage): { code: number; reason: string } {
  const value = find(message, ATTRIBUTE.errorCode);
  if (!value) return { code: 0, reason: "no ERROR-CODE" };
  return {
    code: (value[2]! & 0x07) * 100 + value[3]!,
    reason: value.subarray(4).toString("utf8"),
  };
}

/** Checks a response's MESSAGE-INTEGRITY with `key`. */
function integrityValid(message: StunMessage, key: Buffer): boolean {
  let offset = 20;
  while (offset + 4 <= message.raw.length) {
    const type = message.raw.readUInt16BE(offset);
    const size = message.raw.readUInt16BE(offset + 2);
    if (type === ATTRIBUTE.messageIntegrity) {
      const signed = Buffer.from(message.raw.subarray(0, offset));
      signed.writeUInt16BE(offset - 20 + 24, 2);
      const expected = createHmac("sha1", key).update(signed).digest();
      return expected.equals(message.raw.subarray(offset + 4, offset + 4 + size));
    }
    offset += 4 + Math.ceil(size / 4) * 4;
  }
  return false;
}

/** One UDP socket that sends requests and waits for the response with the same transaction id. */
class StunSocket {
  #socket = dgram.createSocket("udp4");
  #waiting = new Map<string, (message: StunMessage) => void>();
  #target: Address;

  constructor(target: Address) {
    this.#target = target;
    this.#socket.on("message", (raw: Buffer) => {
      const message = decode(Buffer.from(raw));
      if (!message) return;
      const key = message.transactionId.toString("hex");
      this.#waiting.get(key)?.(message);
    });
  }

  bound(): Promise<void> {
    return new Promise((resolve) => this.#socket.bind(0, "127.0.0.1", () => resolve()));
  }

  /** Sends with retransmissions (UDP), resolves with the response or rejects after `timeoutMs`. */
  request(encodeWith: (transactionId: Buffer) => Buffer, timeoutMs: number): Promise<StunMessage> {
    const transactionId = randomBytes(12);
    const key = transactionId.toString("hex");
    const packet = encodeWith(transactionId);
    return new Promise((resolve, reject) => {
      const send = () => this.#socket.send(packet, this.#target.port, this.#target.address);
      const retransmit = setInterval(send, 250);
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no STUN response from ${this.#target.address}:${this.#target.port}`));
      }, timeoutMs);
      const done = () => {
        clearInterval(retransmit);
        clearTimeout(timer);
        this.#waiting.delete(key);
      };
      this.#waiting.set(key, (message) => {
        done();
        resolve(message);
      });
      send();
    });
  }

  close(): void {
    try {
      this.#socket.close();
    } catch { /* closed */ }
  }
}

/** True when a STUN Binding request to `target` gets a success response. */
export async function stunBinding(target: Address, timeoutMs = 1000): Promise<Address | null> {
  const socket = new StunSocket(target);
  try {
    await socket.bound();
    const response = await socket.request(
      (id) => encode(METHOD.binding | CLASS.request, id, []),
      timeoutMs,
    );
    if (response.type !== (METHOD.binding | CLASS.success)) return null;
    const mapped = find(response, ATTRIBUTE.xorMappedAddress);
    return mapped ? xorAddress(mapped) : null;
  } catch {
    return null;
  } finally {
    socket.close();
  }
}

/**
 * A TURN Allocate (UDP relay) with long-term credentials: first unauthenticated
 * to learn REALM and NONCE from the 401, then signed with MESSAGE-INTEGRITY.
 */
export async function turnAllocate(
  target: Address,
  credentials: { username: string; password: string },
  options: { timeoutMs?: number } = {},
): Promise<AllocateResult> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const socket = new StunSocket(target);
  // REQUESTED-TRANSPORT: protocol 17 (UDP) and three reserved bytes.
  const requested: Attribute = {
    type: ATTRIBUTE.requestedTransport,
    value: Buffer.from([17, 0, 0, 0]),
  };
  try {
    await socket.bound();
    const challenge = await socket.request(
      (id) => encode(METHOD.allocate | CLASS.request, id, [requested]),
      timeoutMs,
    );
    const first = errorOf(challenge);
    if (challenge.type !== (METHOD.allocate | CLASS.error) || first.code !== 401) {
      return {
        ok: false,
        errorCode: first.code,
        reason: `expected a 401 challenge: ${first.reason}`,
      };
    }
    const realm = find(challenge, ATTRIBUTE.realm);
    let nonce = find(challenge, ATTRIBUTE.nonce);
    if (!realm || !nonce) return { ok: false, errorCode: 0, reason: "no REALM or NONCE" };
    const key = createHash("md5")
      .update(`${credentials.username}:${realm.toString("utf8")}:${credentials.password}`)
      .digest();
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await socket.request(
        (id) =>
          encode(METHOD.allocate | CLASS.request, id, [
            requested,
            { type: ATTRIBUTE.username, value: Buffer.from(credentials.username, "utf8") },
            { type: ATTRIBUTE.realm, value: realm },
            { type: ATTRIBUTE.nonce, value: nonce! },
          ], key),
        timeoutMs,
      );
      if (response.type === (METHOD.allocate | CLASS.success)) {
        const relayed = find(response, ATTRIBUTE.xorRelayedAddress);
        if (!relayed) return { ok: false, errorCode: 0, reason: "no XOR-RELAYED-ADDRESS" };
        const mapped = find(response, ATTRIBUTE.xorMappedAddress);
        return {
          ok: true,
          relayed: xorAddress(relayed),
          mapped: mapped ? xorAddress(mapped) : null,
          lifetime: find(response, ATTRIBUTE.lifetime)?.readUInt32BE(0) ?? 0,
          integrityValid: integrityValid(response, key),
        };
      }
      const error = errorOf(response);
      // 438 Stale Nonce: retry once with the fresh nonce.
      if (error.code === 438 && find(response, ATTRIBUTE.nonce)) {
        nonce = find(response, ATTRIBUTE.nonce)!;
        continue;
      }
      return { ok: false, errorCode: error.code, reason: error.reason };
    }
    return { ok: false, errorCode: 438, reason: "stale nonce twice" };
  } finally {
    socket.close();
  }
}
