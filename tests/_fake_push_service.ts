/**
 * @module
 * A fake push service for tests, on https with a certificate made for the run
 * (openssl), that also plays the browser's part: each subscription has its own
 * P-256 key pair and auth secret, so the fake can check what a real push
 * service checks (the VAPID JWT: ES256 signature by the `k` key, `aud` the
 * endpoint's origin, `exp` within 24 h, `sub` a contact) and decrypt the
 * `aes128gcm` body as the browser would (RFC 8291 / RFC 8188).
 *
 * The decrypting side is written by hand here on WebCrypto on purpose: it is a
 * second, independent reading of the RFCs to test the library's encryption
 * against, and it never runs outside tests.
 */
import { decodeBase64Url, encodeBase64Url } from "../lib/text/mod.ts";

/** One push request the fake received, as it understood it. */
export interface ReceivedPush {
  subscription: string;
  /** The status the fake answered. */
  status: number;
  /** The decrypted body, parsed as JSON (null when it did not decrypt). */
  payload: Record<string, unknown> | null;
  /** The VAPID JWT's claims (already verified). */
  claims: { aud: string; exp: number; sub: string };
  headers: Record<string, string>;
  /** Why the fake refused the request, if it did (it then answers 400/401/403). */
  problem: string | null;
}

interface FakeSubscription {
  id: string;
  keys: CryptoKeyPair;
  publicKey: Uint8Array<ArrayBuffer>;
  auth: Uint8Array<ArrayBuffer>;
  /** Statuses to answer, in order; 201 once they run out. */
  script: number[];
}

/** Makes a self-signed certificate for 127.0.0.1 and localhost in a temporary folder. */
export async function makeTestCertificate(): Promise<
  { cert: string; key: string; certPath: string }
> {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-push-cert-" });
  const result = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!result.success) throw new Error(new TextDecoder().decode(result.stderr));
  return {
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
    certPath: `${dir}/cert.pem`,
  };
}

async function hkdf(
  salt: Uint8Array<ArrayBuffer>,
  ikm: Uint8Array<ArrayBuffer>,
  info: Uint8Array<ArrayBuffer>,
  bytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt, info },
    key,
    bytes * 8,
  );
  return new Uint8Array(bits);
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const text = (value: string) => new TextEncoder().encode(value);

/** RFC 8291 §3.4 and RFC 8188 §2: what a browser does with a push message body. */
async function decrypt(
  subscription: FakeSubscription,
  body: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const salt = body.slice(0, 16);
  const recordSize = new DataView(body.buffer, body.byteOffset + 16, 4).getUint32(0);
  const idLength = body[20]!;
  const senderPublic = body.slice(21, 21 + idLength);
  const ciphertext = body.slice(21 + idLength);
  if (idLength !== 65) throw new Error(`keyid is ${idLength} bytes, not a P-256 key`);
  if (ciphertext.length > recordSize) throw new Error("more than one record");
  const sender = await crypto.subtle.importKey(
    "raw",
    senderPublic,
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  const shared = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "ECDH", public: sender },
      subscription.keys.privateKey,
      256,
    ),
  );
  const keyInfo = concat(text("WebPush: info\0"), subscription.publicKey, senderPublic);
  const ikm = await hkdf(subscription.auth, shared, keyInfo, 32);
  const cek = await hkdf(salt, ikm, text("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, text("Content-Encoding: nonce\0"), 12);
  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
  const padded = new Uint8Array(
    await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, key, ciphertext),
  );
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error("no last-record delimiter (0x02)");
  return new TextDecoder().decode(padded.slice(0, end));
}

/** RFC 8292 §2–3: `Authorization: vapid t=<JWT>, k=<public key>`; the JWT must verify. */
async function checkVapid(
  header: string,
  origin: string,
): Promise<{ claims: ReceivedPush["claims"]; problem: string | null }> {
  const none = { aud: "", exp: 0, sub: "" };
  const match = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(header);
  if (!match) return { claims: none, problem: `not a vapid Authorization header: ${header}` };
  const [headerPart, claimsPart, signaturePart] = match[1]!.split(".") as [string, string, string];
  const raw = decodeBase64Url(match[2]!);
  const key = await crypto.subtle.importKey(
    "raw",
    raw,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  const valid = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    decodeBase64Url(signaturePart),
    text(`${headerPart}.${claimsPart}`),
  );
  const jose = JSON.parse(new TextDecoder().decode(decodeBase64Url(headerPart)));
  const claims = JSON.parse(new TextDecoder().decode(decodeBase64Url(claimsPart)));
  const now = Date.now() / 1000;
  const problem = !valid
    ? "the JWT signature does not verify with k"
    : jose.alg !== "ES256"
    ? `alg is ${jose.alg}`
    : claims.aud !== origin
    ? `aud is ${claims.aud}, not ${origin}`
    : !(claims.exp > now && claims.exp <= now + 86_400)
    ? `exp ${claims.exp} is not within the next 24 h`
    : !/^(mailto:|https:)/.test(String(claims.sub))
    ? `sub ${claims.sub} is not a contact`
    : null;
  return { claims, problem };
}

/** The fake push service; dispose it to stop the server. */
export class FakePushService implements AsyncDisposable {
  readonly received: ReceivedPush[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #subscriptions = new Map<string, FakeSubscription>();
  readonly #waiters = new Set<() => void>();

  private constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
  }

  /** Starts the fake on https://127.0.0.1:<free port> with the given certificate. */
  static start(tls: { cert: string; key: string }): FakePushService {
    let fake: FakePushService | null = null;
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, cert: tls.cert, key: tls.key, onListen: () => {} },
      (request) => fake!.#handle(request),
    );
    fake = new FakePushService(server);
    return fake;
  }

  /** `127.0.0.1:<port>`: what `PUSH_ENDPOINT_HOSTS` must list. */
  get host(): string {
    return `127.0.0.1:${this.#server.addr.port}`;
  }

  get origin(): string {
    return `https://${this.host}`;
  }

  /**
   * A new subscription as a browser's `PushSubscription.toJSON()` gives it;
   * `script` lists the statuses to answer its pushes with (then 201).
   */
  async subscribe(
    script: number[] = [],
  ): Promise<{ endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } }> {
    const keys = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
      "deriveBits",
    ]);
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
    const auth = crypto.getRandomValues(new Uint8Array(16));
    const id = crypto.randomUUID();
    this.#subscriptions.set(id, { id, keys, publicKey, auth, script: [...script] });
    return {
      endpoint: `${this.origin}/push/${id}`,
      expirationTime: null,
      keys: { p256dh: encodeBase64Url(publicKey), auth: encodeBase64Url(auth) },
    };
  }

  /** Waits until `count` pushes (all answered) arrived, or fails after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 20_000): Promise<ReceivedPush[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `expected ${count} pushes, got ${this.received.length}: ${JSON.stringify(this.received)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.add(done);
      });
    }
    return this.received.slice(0, count);
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const subscription = this.#subscriptions.get(url.pathname.replace(/^\/push\//, ""));
    const headers = Object.fromEntries(request.headers);
    const body = new Uint8Array(await request.arrayBuffer());
    if (request.method !== "POST" || !subscription) return new Response(null, { status: 404 });
    const { claims, problem: vapidProblem } = await checkVapid(
      headers.authorization ?? "",
      this.origin,
    );
    let payload: Record<string, unknown> | null = null;
    let problem = vapidProblem;
    if (!problem && headers["content-encoding"] !== "aes128gcm") {
      problem = `Content-Encoding is ${headers["content-encoding"]}`;
    }
    if (!problem && !/^\d+$/.test(headers.ttl ?? "")) problem = "no TTL header";
    if (!problem && body.length > 4096) problem = `body is ${body.length} bytes, over 4096`;
    if (!problem) {
      try {
        payload = JSON.parse(await decrypt(subscription, body));
      } catch (error) {
        problem = `cannot decrypt: ${error}`;
      }
    }
    const status = problem ? (vapidProblem ? 403 : 400) : subscription.script.shift() ?? 201;
    this.received.push({
      subscription: subscription.id,
      status,
      payload,
      claims,
      headers,
      problem,
    });
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
    return new Response(null, { status, headers: status === 429 ? { "Retry-After": "0" } : {} });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}
