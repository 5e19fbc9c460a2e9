/**
 * One side's pairing, as the controllers use it: its key pair, the other
 * side's public key once it came, the keys derived from both, and every check
 * built on them (sealed file list, key confirmation, short authentication
 * string, relayed files' keys).
 */
import { encodeBase64Url } from "../../text/mod.ts";
import { openJson, sealJson } from "./envelope.ts";
import { PairingError } from "./errors.ts";
import {
  derivePairingKeys,
  generateKeyPair,
  type PairingKeys,
  type StoredKeyPair,
} from "./keys.ts";
import { checkConfirmationCode, confirmationCode, sasWords, type Transcript } from "./sas.ts";

/** DTLS certificate fingerprints as this side's browser saw them (`getStats()`). */
export interface Fingerprints {
  local: string;
  remote: string;
}

/** What a receiver keeps of its pairing across a reload. */
export interface StoredPairing {
  own: StoredKeyPair;
  /** The sender's public key. */
  peer: string | null;
}

/**
 * One side of a pairing.
 *
 * @example
 * ```ts
 * const sender = await PairingSession.create("sender", { secret: "AAAAAAAAAAAAAAAAAAAAAA" });
 * const receiver = await PairingSession.create("receiver", { secret: "AAAAAAAAAAAAAAAAAAAAAA" });
 * await receiver.pair(sender.publicKey, { withSecret: true });
 * await sender.pair(receiver.publicKey, { withSecret: true });
 * const box = await sender.seal({ hello: 1 }, "files");
 * console.log(await receiver.open(box, "files")); // { hello: 1 }
 * ```
 */
export class PairingSession {
  readonly role: "sender" | "receiver";
  /** The link's secret (the sender always has it; a receiver only through the link). */
  readonly secret: string | null;
  #own: StoredKeyPair;
  #peer: string | null = null;
  #keys: PairingKeys | null = null;

  private constructor(role: "sender" | "receiver", own: StoredKeyPair, secret: string | null) {
    this.role = role;
    this.#own = own;
    this.secret = secret;
  }

  /** A new side, or one restored from `stored` (a receiver after a reload). */
  static async create(
    role: "sender" | "receiver",
    options: { secret: string | null; stored?: StoredPairing | null },
  ): Promise<PairingSession> {
    const session = new PairingSession(
      role,
      options.stored?.own ?? await generateKeyPair(),
      options.secret,
    );
    if (options.stored?.peer) {
      await session.pair(options.stored.peer, { withSecret: options.secret !== null });
    }
    return session;
  }

  /** This side's public key (base64url). */
  get publicKey(): string {
    return this.#own.publicKey;
  }

  /** The other side's public key, once paired. */
  get peerKey(): string | null {
    return this.#peer;
  }

  /** True once both halves are known. */
  get paired(): boolean {
    return this.#keys !== null;
  }

  /** True when the keys are bound to the link's secret: checks that pass mean "Verified". */
  get withSecret(): boolean {
    return this.#keys?.withSecret ?? false;
  }

  /** What a receiver keeps across a reload. */
  toStored(): StoredPairing {
    return { own: this.#own, peer: this.#peer };
  }

  /**
   * Takes the other side's public key and derives the keys. The sender mixes
   * its secret in only when the receiver says it has it (`withSecret`).
   */
  async pair(peerKey: string, options: { withSecret: boolean }): Promise<void> {
    const sender = this.role === "sender" ? this.#own.publicKey : peerKey;
    const receiver = this.role === "sender" ? peerKey : this.#own.publicKey;
    const secret = options.withSecret ? this.secret : null;
    this.#keys = await derivePairingKeys(this.#own, {
      senderPublicKey: sender,
      receiverPublicKey: receiver,
      secret,
    });
    this.#peer = peerKey;
  }

  #need(): PairingKeys {
    if (!this.#keys) throw new PairingError("Not paired yet");
    return this.#keys;
  }

  /** Seals `value` for the other side. */
  seal(value: unknown, label: string): Promise<string> {
    return sealJson(this.#need().envelope, value, label);
  }

  /** Opens what the other side sealed; a {@linkcode PairingError} when the keys differ. */
  open(box: string, label: string): Promise<unknown> {
    return openJson(this.#need().envelope, box, label);
  }

  /** The transcript both sides check, with the DTLS fingerprints when there is a connection. */
  transcript(fingerprints: Fingerprints | null): Transcript {
    const own = this.#own.publicKey;
    const peer = this.#peer ?? "";
    const isSender = this.role === "sender";
    return {
      senderPublicKey: isSender ? own : peer,
      receiverPublicKey: isSender ? peer : own,
      senderFingerprint: fingerprints
        ? (isSender ? fingerprints.local : fingerprints.remote)
        : null,
      receiverFingerprint: fingerprints
        ? (isSender ? fingerprints.remote : fingerprints.local)
        : null,
    };
  }

  /** The words to show. */
  sas(fingerprints: Fingerprints | null): Promise<string[]> {
    return sasWords(this.transcript(fingerprints));
  }

  /** The confirmation code this side sends. */
  confirmation(fingerprints: Fingerprints | null): Promise<string> {
    return confirmationCode(this.#need().confirm, {
      role: this.role,
      transcript: this.transcript(fingerprints),
    });
  }

  /** Checks the other side's confirmation code; false means someone came in between. */
  checkConfirmation(fingerprints: Fingerprints | null, code: string): Promise<boolean> {
    const other = this.role === "sender" ? "receiver" : "sender";
    return checkConfirmationCode(this.#need().confirm, code, {
      role: other,
      transcript: this.transcript(fingerprints),
    });
  }

  /** The raw AES-256-GCM key of relayed file `index`. */
  fileKey(index: number): Promise<Uint8Array<ArrayBuffer>> {
    return this.#need().fileKey(index);
  }

  /** The same key as an extractable AES-256-GCM `CryptoKey`, for uploading. */
  async fileCryptoKey(index: number): Promise<CryptoKey> {
    return await crypto.subtle.importKey("raw", await this.fileKey(index), "AES-GCM", true, [
      "encrypt",
      "decrypt",
    ]);
  }

  /** The same key as link mode writes it (base64url), for downloading. */
  async fileKeyText(index: number): Promise<string> {
    return encodeBase64Url(await this.fileKey(index));
  }
}
