/**
 * The sending side of a live transfer, from picking files to "delivered":
 * creates the session, waits for the receiver, connects over WebRTC, runs the
 * file-share protocol, and falls back to link mode (an encrypted upload whose
 * link goes to the receiver as `fallback-link`) when the browsers cannot
 * connect in time or the direct connection breaks. Browser only; the page
 * renders {@linkcode SenderView}.
 */
import { formatBytes, type UploadedFile } from "../link_client/mod.ts";
import { ApiClientError } from "../client/mod.ts";
import type { AnnouncedFile, CreatedTransfer } from "./api.ts";
import type { DataChannelLike } from "./channel.ts";
import {
  fallbackLinkUrl,
  isSnippet,
  type RelayTail,
  relayTailLabel,
  safeFileName,
  safeFileType,
  snippetFile,
} from "./files.ts";
import { LiveTransfer, type LiveTransferOptions, type TransferFailure } from "./live_transfer.ts";
import {
  firstConfirmation,
  generatePairingSecret,
  linkWithSecret,
  PairingSession,
  PUBLIC_KEY_PATTERN,
  type StoredPairing,
} from "./pairing/mod.ts";
import type { PeerConnector } from "./services.ts";
import { FileSender, type OutgoingFile } from "./sender.ts";
import { sha256OfBlob } from "./sha256.ts";
import type { SignalingFrame } from "./signaling.ts";
import { emptyView, type TransferView } from "./view.ts";

/** What the send page shows. */
export interface SenderView extends TransferView {
  code?: string;
  joinUrl?: string;
  expiresAt?: string;
  /**
   * File bytes that left this page over data channels, every connection
   * together: above the files' size by what a break made send twice.
   */
  wireBytes?: number;
}

/**
 * What the send page keeps in session storage while a transfer runs, so that
 * a reload resumes it once the person picks the same files again (a page
 * cannot read files it was not given).
 */
export interface StoredSenderSession {
  session: CreatedTransfer;
  /** The link's secret (it is in the page's link too). */
  secret: string;
  /** This side's key pair and the receiver's public key once it came. */
  pairing: StoredPairing;
  /** The receiver came through the link (its keys are bound to the secret). */
  withSecret: boolean;
  /** The person confirmed the words (a typed-code receiver). */
  wordsConfirmed: boolean;
  /** The files in transfer order (the message first, when there is one). */
  files: AnnouncedFile[];
  /** The message's text, when file 0 is the message. */
  snippet: string | null;
  cursor: string | null;
}

/** The session-storage key of the send page's transfer. */
export const SENDER_STORAGE_KEY = "switchboard.send";

/** Reads the send page's kept transfer; null when absent or not well-formed. */
export function readStoredSend(
  storage: Pick<Storage, "getItem"> | null | undefined,
): StoredSenderSession | null {
  try {
    const value = JSON.parse(storage?.getItem(SENDER_STORAGE_KEY) ?? "null");
    const session = value?.session;
    if (
      typeof session?.code !== "string" || typeof session?.senderToken !== "string" ||
      typeof session?.joinUrl !== "string" || typeof value.secret !== "string" ||
      !Array.isArray(value.files) || typeof value.pairing?.own?.publicKey !== "string" ||
      !PUBLIC_KEY_PATTERN.test(value.pairing.own.publicKey)
    ) return null;
    const files: AnnouncedFile[] = value.files.filter((file: AnnouncedFile) =>
      typeof file?.name === "string" && Number.isSafeInteger(file?.size) &&
      typeof file?.type === "string"
    );
    const peer = value.pairing.peer;
    return {
      session: {
        transferId: String(session.transferId ?? ""),
        code: session.code,
        senderToken: session.senderToken,
        expiresAt: String(session.expiresAt ?? ""),
        joinUrl: session.joinUrl,
      },
      secret: value.secret,
      pairing: {
        own: value.pairing.own,
        peer: typeof peer === "string" && PUBLIC_KEY_PATTERN.test(peer) ? peer : null,
      },
      withSecret: value.withSecret === true,
      wordsConfirmed: value.wordsConfirmed === true,
      files,
      snippet: typeof value.snippet === "string" ? value.snippet : null,
      cursor: typeof value.cursor === "string" ? value.cursor : null,
    };
  } catch {
    return null;
  }
}

/** Options of {@linkcode LiveSender}. */
export interface LiveSenderOptions extends LiveTransferOptions<SenderView> {
  /** Where the transfer survives a reload. Default `sessionStorage`; null: nowhere. */
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null;
  /** Fall back to link mode when the data channel is not open this long after the receiver is ready. */
  fallbackTimeoutMs: number;
  /** The server's link-mode upload cap (bytes). */
  maxUploadBytes: number;
  /** How often the relay is asked whether the receiver downloaded a file. Default 1500 ms. */
  downloadCheckMs?: number;
}

/** Files up to this size are hashed before sending, so the manifest carries their SHA-256. */
const PREHASH_BYTES = 1024 * 1024;
/**
 * A reconnect whose attempt fails (an ICE failure, a page still loading) makes a new one after this
 * pause, doubled each time up to {@linkcode RECONNECT_MAX_PAUSE_MS}, until one
 * connects or the fallback timer gives the transfer to the relay. (A fixed number
 * of quick retries could all fail on a busy machine while the receiver's reloaded
 * page was still re-reading its files, leaving the rest of the timer unused.)
 */
const RECONNECT_FIRST_PAUSE_MS = 250;
const RECONNECT_MAX_PAUSE_MS = 4000;
/**
 * A reconnect attempt that has not opened its channel by then counts as failed
 * (no answer came, or one from a receiver that sends no attempt id answered an
 * older offer: then no failure would ever be reported). Answers that carry
 * another attempt's id are ignored (`PeerLink.acceptAnswer`).
 */
const RECONNECT_ATTEMPT_MS = 10_000;
/** Downloads allowed per fallback upload (the receiver may retry a broken download). */
const FALLBACK_DOWNLOADS = 5;

/** Waits `ms`, or until `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * One send, start to end.
 *
 * @example
 * ```ts
 * const input = document.querySelector<HTMLInputElement>("input[type=file]")!;
 * const sender = new LiveSender({
 *   fallbackTimeoutMs: 12_000,
 *   maxUploadBytes: 100 * 1024 * 1024,
 *   onChange: (view) => console.log(view),
 * });
 * await sender.start([...input.files ?? []]);
 * ```
 */
export class LiveSender extends LiveTransfer<SenderView, FileSender> {
  #options: LiveSenderOptions;
  #files: OutgoingFile[] = [];
  #session: CreatedTransfer | null = null;
  /** Falls back to the relay when the browsers have not connected in time. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Relay uploads by file index; `offset` > 0: the upload is the file's end from there. */
  #uploaded = new Map<number, { link: UploadedFile; url: string; offset: number }>();
  /**
   * What the receiver holds, as its last connection said (see
   * {@linkcode FileSender.receiverStored}); null when unknown. The relay
   * fallback uploads file `index` only from `offset` on.
   *
   * Why the sender's own record and not a fresh report from the receiver: by
   * the time the relay is used there is no channel to ask on, and signaling
   * has no frame for the receiver to say it (the server relays only the
   * frames it knows). The record is safe because every figure in it came from
   * the receiver after the bytes were written (its `resume`, then `stored`),
   * so the same receive page holds at least that much; holding more is fine
   * (it skips what it has of the upload). Only a reload of the receive page
   * can lose written bytes (an OPFS segment not yet committed): its `ready`
   * therefore clears the record, and the next connection's `resume` makes it
   * anew.
   */
  #held: { index: number; offset: number } | null = null;
  /** Uploads of a file's rest that a whole upload replaced (deleted with the others). */
  #replaced: UploadedFile[] = [];
  /** The receiver's key arrived and the pairing keys are derived. */
  #paired: Promise<void> | null = null;
  /**
   * The person's answer to "do the words match?" when the receiver did not
   * prove the secret: nothing is sent before it is `true`.
   */
  #words: { answer: Promise<boolean>; settle(match: boolean): void } | null = null;
  /** The person confirmed the words (or the receiver proved the secret): sending may start. */
  #wordsConfirmed = false;
  /** The direct connection broke mid-transfer and a new one is being made. */
  #reconnecting = false;
  /** The pause before a reconnect's next attempt. */
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Ends a reconnect attempt that never opened (see {@linkcode RECONNECT_ATTEMPT_MS}). */
  #attemptTimer: ReturnType<typeof setTimeout> | undefined;
  /** Attempts made since the reconnect started. */
  #retries = 0;
  /** A connection was confirmed once: later connection attempts are reconnects. */
  #connectedOnce = false;
  /** File bytes that left over the data channels of earlier connections. */
  #wireBefore = 0;
  /** What a reload needs, kept in session storage while the transfer runs. */
  #stored: StoredSenderSession | null = null;
  #storage: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null;

  constructor(options: LiveSenderOptions) {
    super("creator", options, emptyView());
    this.#options = options;
    this.#storage = options.storage === undefined
      ? globalThis.sessionStorage ?? null
      : options.storage;
  }

  /** Keeps the transfer for a reload (`patch` changes what is kept). */
  #save(patch: Partial<StoredSenderSession> = {}): void {
    if (!this.#stored) return;
    this.#stored = { ...this.#stored, ...patch };
    try {
      this.#storage?.setItem(SENDER_STORAGE_KEY, JSON.stringify(this.#stored));
    } catch { /* storage full or disabled: a reload starts over */ }
  }

  /** The transfer is over for this tab: a reload must not offer to resume it. */
  #forget(): void {
    this.#stored = null;
    try {
      this.#storage?.removeItem(SENDER_STORAGE_KEY);
    } catch { /* disabled */ }
  }

  /**
   * After a reload: goes on with the transfer kept in `stored` once the person
   * picked the same files again. Each file is matched by name and size (the
   * bytes already sent are checked against the receiver's SHA-256 when the
   * transfer resumes; a file that differs starts over). Returns why the
   * picked files do not match (nothing started), or null.
   */
  async resume(stored: StoredSenderSession, picked: File[]): Promise<string | null> {
    const files: OutgoingFile[] = [];
    const missing: string[] = [];
    for (const file of stored.files) {
      if (isSnippet(file.type) && stored.snippet !== null) {
        files.push({ blob: snippetFile(stored.snippet), name: file.name, type: file.type });
        continue;
      }
      const match = picked.find((candidate) =>
        safeFileName(candidate.name) === file.name && candidate.size === file.size
      );
      if (match) files.push({ blob: match, name: file.name, type: file.type });
      else missing.push(`"${file.name}"`);
    }
    if (missing.length > 0) {
      return `Pick the same files again: ${missing.join(", ")} ${
        missing.length === 1 ? "is" : "are"
      } missing (same name and size).`;
    }
    this.#files = files;
    this.#stored = stored;
    this.#session = stored.session;
    this.#wordsConfirmed = stored.wordsConfirmed;
    this.ended = false;
    this.set({
      ...emptyView(),
      phase: "signaling",
      code: stored.session.code,
      joinUrl: linkWithSecret(stored.session.joinUrl, stored.secret),
      expiresAt: stored.session.expiresAt,
      files: files.map((file, index) => ({
        index,
        name: file.name,
        size: file.blob.size,
        type: file.type ?? "",
        bytes: 0,
        status: "waiting",
      })),
      totalBytes: files.reduce((sum, file) => sum + file.blob.size, 0),
    });
    await Promise.all(files.map(async (file) => {
      if (file.blob.size <= PREHASH_BYTES) file.sha256 = await sha256OfBlob(file.blob);
    }));
    const pairing = await PairingSession.create("sender", {
      secret: stored.secret,
      stored: { own: stored.pairing.own, peer: null },
    });
    this.pairing = pairing;
    if (stored.pairing.peer) {
      this.#paired = pairing.pair(stored.pairing.peer, { withSecret: stored.withSecret });
      await this.#paired;
      if (pairing.withSecret) this.set({ pairing: "verified" });
    }
    if (this.ended) return null;
    const signaling = this.openSignaling(
      {
        code: stored.session.code,
        token: stored.session.senderToken,
        initialCursor: stored.cursor,
      },
      () => this.fail("signaling", "The connection to the server keeps failing"),
    );
    if (!stored.pairing.peer) {
      signaling.send({ type: "pairing-key", publicKey: pairing.publicKey });
    } else {
      // The receiver is waiting with what it stored: offer a new connection at once.
      void this.#connect();
    }
    return null;
  }

  protected override onCursor(cursor: string): void {
    if (this.#stored) this.#save({ cursor });
  }

  /** Creates the session for `files` (the snippet, if any, among them); waits for the receiver. */
  async start(files: File[]): Promise<void> {
    this.#files = files.map((file) => ({
      blob: file,
      name: safeFileName(file.name),
      type: safeFileType(file.type),
    }));
    this.ended = false;
    this.set({
      ...emptyView(),
      phase: "signaling",
      files: this.#files.map((file, index) => ({
        index,
        name: file.name,
        size: file.blob.size,
        type: file.type ?? "",
        bytes: 0,
        status: "waiting",
      })),
      totalBytes: this.#files.reduce((sum, file) => sum + file.blob.size, 0),
    });
    try {
      await Promise.all(this.#files.map(async (file) => {
        if (file.blob.size <= PREHASH_BYTES) file.sha256 = await sha256OfBlob(file.blob);
      }));
      // The secret goes only into the join link's fragment: never into a request.
      const secret = generatePairingSecret();
      this.pairing = await PairingSession.create("sender", { secret });
      this.#paired = null;
      this.#words = null;
      this.#wordsConfirmed = false;
      // The file list is not announced in clear: it goes sealed to the paired receiver.
      const session = await this.services.createTransfer([]);
      if (this.ended) return;
      this.#session = session;
      this.set({
        code: session.code,
        joinUrl: linkWithSecret(session.joinUrl, secret),
        expiresAt: session.expiresAt,
      });
      const snippet = this.#files[0] && isSnippet(this.#files[0].type ?? "")
        ? await this.#files[0].blob.text()
        : null;
      this.#stored = {
        session,
        secret,
        pairing: this.pairing.toStored(),
        withSecret: false,
        wordsConfirmed: false,
        files: this.#files.map((file) => ({
          name: file.name,
          size: file.blob.size,
          type: file.type ?? "",
        })),
        snippet,
        cursor: null,
      };
      this.#save();
      const signaling = this.openSignaling(
        { code: session.code, token: session.senderToken },
        () => this.fail("signaling", "The connection to the server keeps failing"),
      );
      signaling.send({ type: "pairing-key", publicKey: this.pairing.publicKey });
    } catch (error) {
      this.fail(
        "signaling",
        error instanceof ApiClientError ? error.message : `Could not create the transfer: ${error}`,
      );
    }
  }

  /**
   * The person compared the words with the receiver and they match: sending
   * starts (directly, or through the relay if that is where the transfer is).
   */
  confirmWords(): void {
    if (!this.view.awaitingWords || this.ended) return;
    this.#wordsConfirmed = true;
    this.#save({ wordsConfirmed: true });
    this.set({ awaitingWords: false });
    this.#words?.settle(true);
  }

  /** The words differ: someone is in between. Stops on both pages; nothing is sent. */
  wordsDiffer(): void {
    if (this.ended) return;
    this.#words?.settle(false);
    this.refuse("the words on the two pages differ");
  }

  /**
   * Waits until sending may start: at once when the receiver proved the
   * secret or the words were confirmed, else when the person answers. False
   * when they said the words differ (or the transfer ended meanwhile).
   */
  async #wordsMatch(): Promise<boolean> {
    if (this.#wordsConfirmed || this.pairing?.withSecret) return !this.ended;
    if (!this.#words) {
      let settle!: (match: boolean) => void;
      const answer = new Promise<boolean>((resolve) => settle = resolve);
      this.#words = { answer, settle };
    }
    this.set({ awaitingWords: true });
    const match = await this.#words.answer;
    return match && !this.ended;
  }

  /** Stops the transfer on both sides. */
  cancel(): void {
    if (this.ended) return;
    const reason = "Canceled by the sender";
    this.protocol?.cancel(reason);
    this.signaling?.send({ type: "cancel", reason });
    this.end({ phase: "canceled", canceledBy: "you", reason });
    void this.#deleteUploads();
  }

  /**
   * Tries again after a failure: reconnects signaling, or (re)sends through the
   * relay. Returns false when this session cannot go on (it was closed): the
   * page then starts a new one.
   */
  retry(): boolean {
    const failure = this.failure;
    this.failure = null;
    if (failure === "signaling" && this.signaling) {
      this.ended = false;
      this.set({ phase: this.view.peer === "joined" ? "connecting" : "signaling", reason: "" });
      this.signaling.reconnectNow();
      return true;
    }
    if (failure === "relay" || failure === "transfer") {
      this.ended = false;
      void this.#fallBack(this.view.relayReason ?? "Retrying through the relay");
      return true;
    }
    return false;
  }

  #stopTimers(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#attemptTimer);
  }

  override dispose(): void {
    this.#stopTimers();
    super.dispose();
  }

  protected override failurePatch(kind: TransferFailure): Partial<SenderView> {
    return { problem: kind };
  }

  protected override fail(kind: TransferFailure, reason: string): void {
    if (!this.ended) this.#stopTimers();
    super.fail(kind, reason);
  }

  protected override end(patch: Partial<SenderView>): void {
    this.#stopTimers();
    this.#forget();
    this.#words?.settle(false);
    super.end(patch);
  }

  protected override onCanceled(): void {
    void this.#deleteUploads();
  }

  protected override onSignal(frame: SignalingFrame): void {
    switch (frame.type) {
      case "pairing-key":
        void this.#onPairingKey(frame.publicKey, frame.withSecret === true);
        return;
      case "ready":
        void this.#onReady(frame.confirm);
        return;
      case "answer":
        this.link?.acceptAnswer(frame.answer, frame.attempt).catch((error) =>
          this.#connectFailed(`The receiver's answer was not usable: ${error}`)
        );
        return;
      case "ice-candidate":
        void this.link?.addCandidate(frame.candidate);
        return;
      default:
        return;
    }
  }

  /**
   * The receiver's public key: derive the pairing keys (with the secret when
   * the receiver says it came through the link) and send it the sealed file
   * list. The first key counts; the same key again (a receiver that reloaded
   * before the list came) gets the list again, another key is ignored.
   */
  async #onPairingKey(publicKey: string, withSecret: boolean): Promise<void> {
    const pairing = this.pairing;
    if (!pairing || (pairing.peerKey !== null && pairing.peerKey !== publicKey)) return;
    this.#paired ??= pairing.pair(publicKey, { withSecret });
    try {
      await this.#paired;
      this.#save({ pairing: pairing.toStored(), withSecret: pairing.withSecret });
      const files = this.#files.map((file) => ({
        name: file.name,
        size: file.blob.size,
        type: file.type ?? "",
      }));
      const box = await pairing.seal(files, "files");
      if (this.ended) return;
      this.signaling?.send({ type: "sealed-files", box });
    } catch {
      this.refuse("the receiver's key is not usable");
    }
  }

  /**
   * With the secret, the receiver's `ready` proves it holds the same keys
   * (its confirmation code over both public keys): anything else is refused.
   */
  async #readyConfirmed(confirm: string | undefined): Promise<boolean> {
    const pairing = this.pairing;
    if (!pairing || !this.#paired) {
      this.refuse("the receiver never sent its key");
      return false;
    }
    await this.#paired;
    if (!pairing.withSecret && confirm === undefined) return true;
    if (confirm === undefined || !await pairing.checkConfirmation(null, confirm)) {
      this.refuse("the receiver could not prove it holds the link's secret");
      return false;
    }
    if (pairing.withSecret) this.set({ pairing: "verified" });
    return true;
  }

  /** The receiver accepted (or came back after a reload): start a connection attempt. */
  async #onReady(confirm: string | undefined): Promise<void> {
    if (!await this.#readyConfirmed(confirm) || this.ended) return;
    const { phase, route } = this.view;
    if (phase === "done" && route !== "relay") return;
    if (route === "relay") {
      // The receiver reloaded while the relay was used: send it the links again. It may
      // have lost the end of what it held of a file whose rest alone is on the relay
      // (bytes written but not committed): that file goes up whole instead.
      this.#held = null;
      const tails = phase === "done"
        ? [...this.#uploaded].filter(([, upload]) => upload.offset > 0)
        : [];
      for (const [index, { link }] of tails) {
        // Still there for a receiver that can use it (it is deleted with the others).
        this.#replaced.push(link);
        this.#uploaded.delete(index);
        this.setFile(index, { status: "waiting", bytes: 0 });
      }
      for (const { url } of this.#uploaded.values()) {
        this.signaling?.send({ type: "fallback-link", url });
      }
      if (tails.length > 0) {
        this.relayWork.abort();
        this.set({ phase: "connecting" });
        void this.#fallBack(this.view.relayReason ?? "The receiver's page reloaded");
      }
      return;
    }
    // A receiver that reloaded resumes from what it stored, like a broken connection;
    // it may have lost bytes it had written but not committed.
    this.#dropProtocol();
    this.#held = null;
    if (this.#connectedOnce) {
      this.#reconnecting = true;
      this.#retries = 0;
    }
    await this.#connect();
  }

  /**
   * The direct connection broke mid-transfer: connect again through signaling
   * (new offer and answer, same session and tokens) and go on from what the
   * receiver holds; the relay only when that does not succeed within
   * `fallbackTimeoutMs`.
   */
  #reconnect(reason: string): void {
    if (this.ended) return;
    this.#reconnecting = true;
    this.#retries = 0;
    this.set({ reason: `${reason}. Reconnecting…` });
    void this.#connect();
  }

  /** Drops the protocol end of the current connection, counting the bytes it sent. */
  #dropProtocol(): void {
    const sender = this.protocol;
    this.protocol = null;
    if (!sender) return;
    this.#wireBefore += sender.wireBytes;
    this.#held = sender.receiverStored ?? this.#held;
  }

  /**
   * Starts a connection attempt (the first, or after a break or a receiver's
   * reload); `keepTimer`: a retry within a reconnect, whose fallback timer runs on.
   */
  async #connect(options: { keepTimer?: boolean } = {}): Promise<void> {
    // Closing the old link ends its protocol end; the receiver keeps what it stored.
    this.#dropProtocol();
    this.link?.close();
    this.link = null;
    this.stopProgress();
    const attempt = ++this.attempt;
    this.set({
      phase: "connecting",
      route: null,
      activeFile: -1,
      files: this.view.files.map((file) =>
        file.status === "verified" || file.status === "failed"
          ? file
          : { ...file, status: "waiting" }
      ),
    });
    if (!options.keepTimer) {
      this.#stopTimers();
      this.#timer = setTimeout(
        () => void this.#fallBack("The browsers did not connect in time"),
        this.#options.fallbackTimeoutMs,
      );
    }
    const session = this.#session;
    const iceServers = session
      ? await this.iceServers({ code: session.code, token: session.senderToken })
      : [];
    if (attempt !== this.attempt || this.ended) return;
    const link = this.openLink(iceServers, {
      onOpen: (opened, channel) => void this.#transfer(opened, channel),
      onFailed: (reason) => this.#connectFailed(reason),
    });
    link.start().catch((error) => this.#connectFailed(`Could not start WebRTC: ${error}`));
    clearTimeout(this.#attemptTimer);
    if (this.#reconnecting) {
      this.#attemptTimer = setTimeout(() => {
        if (attempt === this.attempt && link === this.link && this.view.phase === "connecting") {
          this.#connectFailed("The new connection got no answer in time");
        }
      }, RECONNECT_ATTEMPT_MS);
    }
  }

  #connectFailed(reason: string): void {
    const { phase } = this.view;
    // While reconnecting, try a few new attempts; then the fallback timer decides.
    if (this.#reconnecting) {
      this.set({ reason: `${reason}. Reconnecting…` });
      const attempt = this.attempt;
      const wait = Math.min(
        RECONNECT_FIRST_PAUSE_MS * 2 ** this.#retries++,
        RECONNECT_MAX_PAUSE_MS,
      );
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => {
        // Unless something else started meanwhile (the receiver came back, the relay took over).
        if (attempt === this.attempt && this.#reconnecting && !this.ended) {
          void this.#connect({ keepTimer: true });
        }
      }, wait);
      return;
    }
    if (phase === "transferring") this.#reconnect(reason);
    else if (phase === "connecting" || phase === "connected") void this.#fallBack(reason);
  }

  async #transfer(
    link: PeerConnector,
    channel: DataChannelLike,
  ): Promise<void> {
    if (link !== this.link || this.ended) return;
    clearTimeout(this.#attemptTimer);
    // Listen before anything is awaited: the receiver's confirmation may come quickly.
    const first = firstConfirmation(channel);
    first.catch(() => {});
    this.set({ phase: "connected" });
    this.showRoute(link);
    // Nothing is sent before the receiver proved this is the paired connection (the
    // fallback timer keeps running meanwhile).
    try {
      if (!await this.confirmConnection(link, channel, first)) return;
    } catch {
      if (link !== this.link) return;
      if (this.#reconnecting) this.#connectFailed("The direct connection was lost");
      else void this.#fallBack("The direct connection was lost");
      return;
    }
    this.#stopTimers();
    this.#reconnecting = false;
    this.#connectedOnce = true;
    // Without the secret, the person compares the words before a byte moves.
    if (!await this.#wordsMatch() || link !== this.link) return;
    const sender = new FileSender(channel, this.#files, {
      onVerified: (index) =>
        this.setFile(index, { status: "verified", bytes: this.#files[index]!.blob.size }),
      onFailed: (index, _code, message) => this.setFile(index, { status: "failed", message }),
      onResume: (resume) => {
        const verified = new Set(resume.verified);
        this.set({
          files: this.view.files.map((file) =>
            verified.has(file.index) ? { ...file, status: "verified", bytes: file.size } : file
          ),
        });
      },
    });
    this.meter.reset();
    this.set({ phase: "transferring", reason: "", startedAt: this.view.startedAt ?? Date.now() });
    await this.runProtocol(sender, sender.run(), {
      done: (result) => {
        const failed = new Set(result.failed);
        this.ended = true;
        this.set({
          phase: "done",
          finishedAt: Date.now(),
          activeFile: -1,
          bytes: this.view.totalBytes,
          files: this.view.files.map((file) =>
            failed.has(file.index)
              ? { ...file, status: "failed", message: file.message ?? "Arrived damaged" }
              : { ...file, status: "verified", bytes: file.size }
          ),
        });
        // The receiver has everything; signaling is no longer needed.
        this.#forget();
        this.signaling?.close();
        this.closeSoon(link, 1000);
      },
      lost: () => {
        this.#dropProtocol();
        this.#reconnect("The direct connection was lost");
      },
    });
  }

  protected override progress(): void {
    const sender = this.protocol;
    if (!sender) return;
    const active = sender.currentFile;
    const files = this.view.files.map((file) => {
      if (file.status === "verified" || file.status === "failed") return file;
      const moved = sender.fileSentBytes(file.index);
      return {
        ...file,
        bytes: moved,
        status: moved > 0 || file.index === active ? "active" as const : file.status,
      };
    });
    this.showBytes(sender.sentBytes, {
      files,
      activeFile: active,
      wireBytes: this.#wireBefore + sender.wireBytes,
    });
  }

  /** Sends every file not yet delivered through link mode instead. */
  async #fallBack(reason: string): Promise<void> {
    if (this.ended || !this.signaling) return;
    if (this.view.route === "relay" && this.view.phase === "transferring") return;
    this.#stopTimers();
    this.stopProgress();
    this.attempt++;
    this.#reconnecting = false;
    this.protocol?.cancel("Switching to the relay");
    this.#dropProtocol();
    this.link?.close();
    this.link = null;
    this.relayWork = new AbortController();
    const signal = this.relayWork.signal;
    this.meter.reset();
    this.set({
      phase: "transferring",
      route: "relay",
      relayReason: reason,
      startedAt: Date.now(),
      bytes: this.view.files
        .filter((file) => file.status === "verified" || this.#uploaded.has(file.index))
        .reduce((sum, file) => sum + file.size, 0),
    });
    const count = this.#files.length;
    const pairing = this.pairing?.paired ? this.pairing : null;
    if (pairing) {
      // No DTLS on this path: the words cover both public keys.
      const sas = await pairing.sas(null);
      if (this.ended || signal.aborted) return;
      this.set({ sas, pairing: pairing.withSecret ? this.view.pairing : "compare" });
    }
    // Without the secret, nothing is uploaded before the person confirmed the words.
    if (!await this.#wordsMatch() || signal.aborted) return;
    const tooLarge = this.#files.filter((file, index) =>
      this.view.files[index]?.status !== "verified" && !this.#uploaded.has(index) &&
      file.blob.size > this.#options.maxUploadBytes
    );
    if (tooLarge.length > 0) {
      // The receiver would wait for links that never come: end the session with the reason.
      const names = tooLarge.map((file) => `"${file.name}"`).join(", ");
      const why = `${reason}, and ${names} ${
        tooLarge.length === 1 ? "is" : "are"
      } larger than the relay's limit of ${formatBytes(this.#options.maxUploadBytes)}`;
      this.signaling?.send({ type: "cancel", reason: why.slice(0, 200) });
      this.failure = "closed";
      this.ended = true;
      this.set({ phase: "failed", route: null, reason: `${why}.`, problem: "closed" });
      return;
    }
    for (const [index, file] of this.#files.entries()) {
      if (this.view.files[index]?.status === "verified" || this.#uploaded.has(index)) continue;
      const before = this.view.bytes;
      // What the receiver holds of this file: upload only the rest. Of a file it stored in
      // full (its `file-verified` may have been lost with the connection) the rest is empty.
      const offset = this.#heldBytes(index);
      const body = offset > 0 ? file.blob.slice(offset) : file.blob;
      this.setFile(index, { status: "encrypting", bytes: offset });
      this.set({ activeFile: index });
      try {
        // The whole file's SHA-256, for the receiver to check its bytes and the rest together.
        const tail = offset > 0 && pairing
          ? await pairing.seal(
            {
              offset,
              size: file.blob.size,
              sha256: await sha256OfBlob(file.blob, { signal }),
            } satisfies RelayTail,
            relayTailLabel(index),
          )
          : undefined;
        const link = await this.services.uploadFile(body, {
          // The key both pages derive from their pairing: the link sent needs none.
          ...(pairing ? { key: await pairing.fileCryptoKey(index) } : {}),
          name: file.name,
          maxBytes: this.#options.maxUploadBytes,
          maxDownloads: FALLBACK_DOWNLOADS,
          signal,
          onProgress: (progress) => {
            if (progress.phase !== "uploading") return;
            const moved = offset + Math.round(
              body.size * (progress.loaded / Math.max(1, progress.total)),
            );
            this.setFile(index, { status: "active", bytes: moved });
            this.showBytes(before + moved);
          },
        });
        const url = fallbackLinkUrl(link.url, index, count, { keepKey: !pairing, tail });
        this.#uploaded.set(index, { link, url, offset });
        this.signaling?.send({ type: "fallback-link", url });
        this.setFile(index, { status: "uploaded", bytes: file.blob.size });
        this.set({ bytes: before + file.blob.size });
      } catch (error) {
        if (signal.aborted || this.ended) return;
        this.fail(
          "relay",
          `The upload to the relay failed: ${error instanceof Error ? error.message : error}`,
        );
        return;
      }
    }
    if (this.ended) return;
    // Everything is on the relay: a reload has nothing left to send.
    this.#forget();
    this.set({ phase: "done", activeFile: -1, finishedAt: Date.now() });
    void this.#watchDownloads(signal);
  }

  /**
   * Bytes of file `index` the receiver holds as far as this page knows (0 when
   * unknown, or when the receiver reported the file damaged).
   */
  #heldBytes(index: number): number {
    const held = this.#held;
    if (!held || !this.pairing?.paired || this.view.files[index]?.status === "failed") return 0;
    if (index < held.index) return this.#files[index]!.blob.size;
    return index === held.index ? held.offset : 0;
  }

  /** Marks relayed files "downloaded" once the receiver fetched them. */
  async #watchDownloads(signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + 30 * 60_000;
    while (!signal.aborted && Date.now() < deadline) {
      const waiting = [...this.#uploaded.entries()].filter(([index]) =>
        this.view.files[index]?.status === "uploaded"
      );
      if (waiting.length === 0) return;
      for (const [index, { link }] of waiting) {
        try {
          const info = await this.services.getFileInfo(link.id, { signal });
          if (info.downloadsLeft !== null && info.downloadsLeft < FALLBACK_DOWNLOADS) {
            this.setFile(index, { status: "downloaded" });
          }
        } catch {
          if (signal.aborted) return;
        }
      }
      await pause(this.#options.downloadCheckMs ?? 1500, signal);
    }
  }

  async #deleteUploads(): Promise<void> {
    const uploads = [...this.#uploaded.values()].map(({ link }) => link);
    uploads.push(...this.#replaced.splice(0));
    this.#uploaded.clear();
    await Promise.allSettled(
      uploads.map((link) => this.services.deleteFile(link.id, link.deleteToken)),
    );
  }
}
