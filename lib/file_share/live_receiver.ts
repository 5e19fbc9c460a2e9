/**
 * The receiving side of a live transfer: joins by code (or rejoins after a
 * reload with the token kept in session storage), shows the files for the
 * person to accept or decline, answers the sender's WebRTC offer, receives and
 * verifies the files, and, when the sender falls back to link mode, downloads
 * and decrypts the uploaded copies by itself. Browser only; the page renders
 * {@linkcode ReceiverView}.
 */
import { ApiClientError } from "../client/mod.ts";
import type { IceCandidate, SessionDescription } from "../transfer/signaling.ts";
import type { AnnouncedFile } from "./api.ts";
import type { DataChannelLike } from "./channel.ts";
import {
  type FallbackLink,
  isSnippet,
  parseFallbackLink,
  parseRelayTail,
  type RelayTail,
  relayTailLabel,
} from "./files.ts";
import { LiveTransfer, type LiveTransferOptions } from "./live_transfer.ts";
import { transferProblemReason } from "./problems.ts";
import type { PeerConnector } from "./services.ts";
import { type ManifestFile, MAX_FILES, MAX_NAME_CHARS, MAX_TYPE_CHARS } from "./messages.ts";
import {
  firstConfirmation,
  PairingSession,
  PUBLIC_KEY_PATTERN,
  type StoredPairing,
} from "./pairing/mod.ts";
import {
  FileReceiver,
  type PartialFile,
  type ReceivedFile,
  type ReceiveProgress,
} from "./receiver.ts";
import { Sha256, sha256OfBlob } from "./sha256.ts";
import type { SignalingFrame } from "./signaling.ts";
import { BlobSink, type FileSink, WritableSink } from "./sinks.ts";
import type { ReceiveStore } from "./storage/receive_store.ts";
import { emptyView, type FileView, type TransferView } from "./view.ts";

/** What the receive page shows. */
export interface ReceiverView extends TransferView {
  code: string;
  /** The person accepted the files. */
  accepted: boolean;
  /** Files go straight into a folder the person picked. */
  toFolder?: string;
}

/** A folder picked with `showDirectoryPicker` (the part used here). */
export interface FolderLike {
  name: string;
  getFileHandle(
    name: string,
    options: { create: boolean },
  ): Promise<{ createWritable(): Promise<WritableStreamLike> }>;
  removeEntry(name: string): Promise<void>;
}

interface WritableStreamLike {
  write(data: Uint8Array<ArrayBuffer>): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}

/** Options of {@linkcode LiveReceiver}. */
export interface LiveReceiverOptions extends LiveTransferOptions<ReceiverView> {
  code: string;
  /**
   * The secret from the join link's fragment (`secretFromFragment(location.hash)`);
   * null or absent when the code was typed. With it the pages verify each other.
   */
  secret?: string | null;
  /** Where the session survives a reload. Default `sessionStorage`. */
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem">;
  /**
   * Where received files are written as they arrive (the OPFS receive folder,
   * `openReceiveStore()`); null or absent: in memory, as Blob parts.
   */
  fileStore?: ReceiveStore | null;
}

/**
 * A file's committed OPFS segments, kept so that a reload resumes it:
 * `sha256` once it was verified (a reload offers it as is), null while partial.
 */
export interface StoredReceivedFile {
  index: number;
  segments: string[];
  sha256: string | null;
}

/** What is kept in session storage per code, so a reload rejoins instead of joining again. */
export interface StoredReceiverSession {
  transferId: string;
  receiverToken: string;
  files: AnnouncedFile[];
  cursor: string | null;
  accepted: boolean;
  finished: boolean;
  /** This side's key pair and the sender's public key (absent in an older tab's storage). */
  pairing?: StoredPairing | null;
  /** The files (or parts) already in the OPFS (absent: none). */
  received?: StoredReceivedFile[];
}

/** The stored files that are well-formed. */
function storedReceived(value: unknown): StoredReceivedFile[] {
  if (!Array.isArray(value)) return [];
  return value.filter((entry) =>
    Number.isSafeInteger(entry?.index) && entry.index >= 0 && entry.index < MAX_FILES &&
    Array.isArray(entry.segments) &&
    entry.segments.every((name: unknown) => typeof name === "string" && name.length < 200) &&
    (entry.sha256 === null ||
      (typeof entry.sha256 === "string" && /^[0-9a-f]{64}$/.test(entry.sha256)))
  ).map((entry) => ({ index: entry.index, segments: entry.segments, sha256: entry.sha256 }));
}

/** The session-storage key of a code. */
export function storageKey(code: string): string {
  return `switchboard.receive.${code}`;
}

/** Reads a stored session; null when absent or not well-formed. */
export function readStoredSession(
  storage: Pick<Storage, "getItem">,
  code: string,
): StoredReceiverSession | null {
  try {
    const value = JSON.parse(storage.getItem(storageKey(code)) ?? "null");
    if (
      typeof value?.transferId !== "string" || typeof value?.receiverToken !== "string" ||
      !Array.isArray(value?.files)
    ) return null;
    const files: AnnouncedFile[] = value.files.filter((file: AnnouncedFile) =>
      typeof file?.name === "string" && Number.isSafeInteger(file?.size) &&
      typeof file?.type === "string"
    );
    const pairing = value.pairing;
    const storedPairing: StoredPairing | null = typeof pairing?.own?.publicKey === "string" &&
        PUBLIC_KEY_PATTERN.test(pairing.own.publicKey) &&
        typeof pairing.own.privateKey === "object" && pairing.own.privateKey !== null
      ? {
        own: { publicKey: pairing.own.publicKey, privateKey: pairing.own.privateKey },
        peer: typeof pairing.peer === "string" && PUBLIC_KEY_PATTERN.test(pairing.peer)
          ? pairing.peer
          : null,
      }
      : null;
    return {
      transferId: value.transferId,
      receiverToken: value.receiverToken,
      files,
      cursor: typeof value.cursor === "string" ? value.cursor : null,
      accepted: value.accepted === true,
      finished: value.finished === true,
      pairing: storedPairing,
      received: storedReceived(value.received),
    };
  } catch {
    return null;
  }
}

function joinProblem(error: unknown): { problem: string; reason: string } {
  if (!(error instanceof ApiClientError)) {
    return { problem: "join_failed", reason: `Could not join: ${error}` };
  }
  return { problem: error.code, reason: transferProblemReason(error.code, error.message) };
}

/** The sealed file list, checked like the server checks an announced one. */
function announcedFiles(value: unknown): AnnouncedFile[] {
  if (!Array.isArray(value) || value.length > MAX_FILES) throw new TypeError("Not a file list");
  return value.map((file) => {
    if (
      typeof file?.name !== "string" || file.name.length > MAX_NAME_CHARS ||
      !Number.isSafeInteger(file.size) || file.size < 0 || typeof file.type !== "string" ||
      file.type.length > MAX_TYPE_CHARS
    ) throw new TypeError("Not a file list");
    return { name: file.name, size: file.size, type: file.type };
  });
}

/** Bytes of a relay upload appended to a partial file per write. */
const TAIL_CHUNK_BYTES = 1024 * 1024;
/** Candidates kept while an answer is being prepared (a browser trickles a few dozen). */
const MAX_EARLY_CANDIDATES = 200;

/**
 * One receive, start to end.
 *
 * @example
 * ```ts
 * const receiver = new LiveReceiver({ code: "K7QX3M", onChange: (view) => console.log(view) });
 * await receiver.start();
 * receiver.accept(); // after the person looked at the file list
 * ```
 */
export class LiveReceiver extends LiveTransfer<ReceiverView, FileReceiver> {
  #options: LiveReceiverOptions;
  #storage: Pick<Storage, "getItem" | "setItem" | "removeItem">;
  #stored: StoredReceiverSession | null = null;
  /** The sender's candidates that arrived while the link for its offer was being set up. */
  #earlyCandidates: IceCandidate[] = [];
  #folder: FolderLike | null = null;
  /** Relay links by file index, with the opened tail details of an upload that is a file's end. */
  #links = new Map<number, FallbackLink & { relayTail: RelayTail | null }>();
  /** Files the relay path could not complete (a damaged or unusable upload): not fetched again. */
  #relayFailed = new Set<number>();
  #downloading = false;
  /** The relay's words (over the public keys) are shown. */
  #relayWords = false;
  #urls: string[] = [];
  /** Each received file's bytes (a disk-backed File when they went to the OPFS), by index. */
  #blobs = new Map<number, Blob>();
  /** The pairing keys are derived (the sender's key came, or was kept across a reload). */
  #paired: Promise<void> | null = null;
  /** This side's confirmation code over both public keys, once paired. */
  #readyCode: string | null = null;
  /** What earlier connections received, for the next one to resume from. */
  #progress: ReceiveProgress | null = null;

  constructor(options: LiveReceiverOptions) {
    super("joiner", options, { ...emptyView(), code: options.code, accepted: false });
    this.#options = options;
    this.#storage = options.storage ?? globalThis.sessionStorage;
  }

  /** Joins (or rejoins from session storage) and connects to signaling. */
  async start(): Promise<void> {
    const code = this.#options.code;
    this.set({ phase: "signaling" });
    let stored = readStoredSession(this.#storage, code);
    if (stored?.finished) {
      this.end({
        phase: "failed",
        problem: "already_received",
        reason: "You already received this transfer in this tab. Ask the sender to send again.",
      });
      return;
    }
    if (!stored) {
      try {
        const joined = await this.services.joinTransfer(code);
        stored = {
          transferId: joined.transferId,
          receiverToken: joined.receiverToken,
          files: joined.files,
          cursor: null,
          accepted: false,
          finished: false,
        };
      } catch (error) {
        this.end({ phase: "failed", ...joinProblem(error) });
        return;
      }
    }
    this.#stored = stored;
    const secret = this.#options.secret ?? null;
    try {
      this.pairing = await PairingSession.create("receiver", { secret, stored: stored.pairing });
    } catch {
      // A kept key pair that does not import: start the pairing over.
      this.pairing = await PairingSession.create("receiver", { secret });
    }
    stored.pairing = this.pairing.toStored();
    if (this.pairing.paired) {
      this.#readyCode = await this.pairing.confirmation(null);
      this.#paired = Promise.resolve();
      this.set({ pairing: this.pairing.withSecret ? "verified" : null });
    }
    this.#save();
    this.set({
      files: stored.files.map((file, index) => ({ index, ...file, bytes: 0, status: "waiting" })),
      totalBytes: stored.files.reduce((sum, file) => sum + file.size, 0),
      accepted: stored.accepted,
      phase: stored.accepted ? "connecting" : "signaling",
    });
    // A reload midway: what the OPFS holds is not received again.
    if (stored.accepted) await this.#restore(stored);
    if (this.ended) return;
    this.openSignaling(
      { code, token: stored.receiverToken, initialCursor: stored.cursor },
      () => this.fail("signaling", "The transfer session cannot be reached. It may have ended."),
    );
    // Came back after accepting (a reload): ask the sender for a fresh connection.
    if (stored.accepted) {
      this.#sendReady();
      void this.#showKeyWords();
    }
  }

  /**
   * Rebuilds what an earlier page of this tab received from its OPFS segments:
   * verified files as they were, and the partial file with its running
   * SHA-256 re-hashed from the stored bytes (so the final hash covers them).
   * A segment that is gone drops that file (it comes again).
   */
  async #restore(stored: StoredReceiverSession): Promise<void> {
    const store = this.#options.fileStore;
    if (!store || !stored.received?.length) return;
    const results: ReceivedFile[] = [];
    let partial: PartialFile | null = null;
    const kept: StoredReceivedFile[] = [];
    for (const entry of stored.received) {
      const file = stored.files[entry.index];
      const segments = file ? await store.reopen(entry.segments) : null;
      if (!file || !segments || segments.length === 0) continue;
      const size = segments.reduce((sum, segment) => sum + segment.file.size, 0);
      const parts = segments.map((segment) => segment.file);
      if (entry.sha256 !== null) {
        if (size !== file.size) continue;
        const blob = parts.length === 1 ? parts[0]! : new File(parts, segments[0]!.name);
        const base = { index: entry.index, name: file.name, size: file.size, type: file.type };
        results.push({ ...base, ok: true, sha256: entry.sha256, saved: { kind: "blob", blob } });
      } else {
        if (partial || size > file.size) continue;
        const hash = new Sha256();
        for (const part of parts) hash.update(new Uint8Array(await part.arrayBuffer()));
        const sink = store.open({ index: entry.index }, {
          stored: segments,
          onCommit: (names) => this.#noteSegments(entry.index, names),
        });
        sink.catch(() => {});
        partial = { index: entry.index, received: size, hash, sink };
      }
      kept.push(entry);
    }
    stored.received = kept;
    this.#save();
    if (this.ended) return;
    this.#progress = { files: stored.files, results, partial, writes: Promise.resolve() };
    for (const result of results) await this.#fileDone(result);
    if (partial) this.setFile(partial.index, { bytes: partial.received, status: "active" });
    this.set({ bytes: this.view.files.reduce((sum, file) => sum + file.bytes, 0) });
  }

  /** File `index`'s committed segments (a reload goes on after them). */
  #noteSegments(index: number, segments: string[]): void {
    const stored = this.#stored;
    if (!stored) return;
    const others = (stored.received ?? []).filter((entry) => entry.index !== index);
    stored.received = [...others, { index, segments, sha256: null }];
    this.#save();
  }

  /** `ready`, with this side's confirmation code over both public keys (sent at once). */
  #sendReady(): void {
    const confirm = this.#readyCode;
    this.signaling?.send(confirm ? { type: "ready", confirm } : { type: "ready" });
  }

  /** Derives the keys with the sender's `publicKey` and the code `ready` carries. */
  async #pair(pairing: PairingSession, publicKey: string): Promise<void> {
    await pairing.pair(publicKey, { withSecret: pairing.secret !== null });
    this.#readyCode = await pairing.confirmation(null);
  }

  /** Accepts the files; with a folder, they are written into it as they arrive. */
  accept(folder?: FolderLike): void {
    if (!this.#stored || this.view.accepted || this.ended) return;
    this.#folder = folder ?? null;
    this.#stored.accepted = true;
    this.#save();
    this.set({
      accepted: true,
      phase: "connecting",
      ...(folder ? { toFolder: folder.name } : {}),
    });
    this.#sendReady();
    void this.#showKeyWords();
  }

  /**
   * Without the secret, the sender's person confirms the words before a byte
   * moves: until a connection shows its own words, show those over both public
   * keys (what the sender's page shows on the relay path) and say so.
   */
  async #showKeyWords(): Promise<void> {
    const pairing = this.pairing;
    if (!pairing?.paired || pairing.withSecret || this.ended || !this.view.accepted) return;
    if (this.view.files.some((file) => file.bytes > 0 || file.status === "verified")) return;
    const sas = await pairing.sas(null);
    // A connection that came meanwhile shows its own words (over its fingerprints too).
    if (this.ended || this.view.phase !== "connecting") return;
    this.set({ sas, pairing: "compare", awaitingWords: true });
  }

  /** Declines: the sender sees it, the session ends. */
  decline(): void {
    this.#stop("Declined by the receiver");
  }

  /** Stops the transfer on both sides. */
  cancel(): void {
    this.#stop("Canceled by the receiver");
  }

  /** Tries again after a failure. */
  retry(): void {
    const failure = this.failure;
    this.failure = null;
    if (failure === "signaling") {
      this.set({ phase: this.view.accepted ? "connecting" : "signaling", reason: "" });
      this.signaling?.reconnectNow();
      return;
    }
    if (failure === "relay") {
      this.set({ phase: "transferring", reason: "" });
      void this.#downloadLinks();
      return;
    }
    if (failure === "transfer") {
      this.set({ phase: "connecting", reason: "" });
      this.#sendReady();
    }
  }

  /** The bytes of received file `index` (for "Save all"); null until it is verified. */
  fileBlob(index: number): Blob | null {
    return this.#blobs.get(index) ?? null;
  }

  /**
   * Ends everything (page leaves). Object URLs of received files are released
   * and this page's files in the OPFS deleted (best effort: a page closing may
   * not finish it; the next page load sweeps what is older than a day).
   */
  override dispose(): void {
    super.dispose();
    for (const url of this.#urls) URL.revokeObjectURL(url);
    void this.#options.fileStore?.removeAll();
  }

  #save(): void {
    if (!this.#stored) return;
    try {
      this.#storage.setItem(storageKey(this.#options.code), JSON.stringify(this.#stored));
    } catch { /* storage full or disabled: a reload joins again */ }
  }

  #stop(reason: string): void {
    if (this.ended) return;
    this.protocol?.cancel(reason);
    this.signaling?.send({ type: "cancel", reason });
    // Between two connections the partial file is held here, not by a protocol end.
    this.#dropProgress();
    this.#forget();
    this.end({ phase: "canceled", canceledBy: "you", reason });
  }

  /** The session is over for this tab: a reload must not rejoin it (nor a late cursor keep it). */
  #forget(): void {
    this.#stored = null;
    try {
      this.#storage.removeItem(storageKey(this.#options.code));
    } catch { /* disabled */ }
  }

  protected override onCanceled(): void {
    this.#dropProgress();
    this.#forget();
  }

  protected override onCursor(cursor: string): void {
    if (!this.#stored) return;
    this.#stored.cursor = cursor;
    this.#save();
  }

  protected override onSignal(frame: SignalingFrame): void {
    switch (frame.type) {
      case "offer":
        if (this.view.accepted && this.view.route !== "relay") {
          void this.#answer(frame.offer, frame.attempt);
        }
        return;
      case "ice-candidate":
        if (this.link) void this.link.addCandidate(frame.candidate);
        else if (this.#earlyCandidates.length < MAX_EARLY_CANDIDATES) {
          // The sender trickles candidates right after its offer, while the answer is
          // still fetching ICE servers: keep them for the link being made.
          this.#earlyCandidates.push(frame.candidate);
        }
        return;
      case "fallback-link":
        void this.#onFallbackLink(frame.url);
        return;
      case "pairing-key":
        void this.#onPairingKey(frame.publicKey);
        return;
      case "sealed-files":
        void this.#onSealedFiles(frame.box);
        return;
      default:
        return;
    }
  }

  /** The sender's public key: derive the keys and send this side's (once). */
  async #onPairingKey(publicKey: string): Promise<void> {
    const pairing = this.pairing;
    if (!pairing || this.#paired) return;
    const withSecret = pairing.secret !== null;
    this.#paired = this.#pair(pairing, publicKey);
    try {
      await this.#paired;
    } catch {
      this.refuse("the sender's key is not usable");
      return;
    }
    if (this.#stored) {
      this.#stored.pairing = pairing.toStored();
      this.#save();
    }
    this.signaling?.send({ type: "pairing-key", publicKey: pairing.publicKey, withSecret });
  }

  /**
   * The sender's file list, sealed with the pairing's key. It opens only when
   * both pages hold the same keys; with the secret, that proves the sender.
   */
  async #onSealedFiles(box: string): Promise<void> {
    const pairing = this.pairing;
    if (!pairing || !this.#paired || this.ended) return;
    let files: AnnouncedFile[];
    try {
      await this.#paired;
      files = announcedFiles(await pairing.open(box, "files"));
    } catch {
      this.refuse(
        pairing.withSecret
          ? "the file list was not sealed with this link's secret"
          : "the file list does not open with the agreed key",
      );
      return;
    }
    if (this.ended || !this.#stored) return;
    this.#stored.files = files;
    this.#save();
    this.set({
      pairing: pairing.withSecret ? "verified" : null,
      files: files.map((file, index) => ({ index, ...file, bytes: 0, status: "waiting" })),
      totalBytes: files.reduce((sum, file) => sum + file.size, 0),
    });
  }

  /** Keeps what the current protocol end received (for the next connection) and drops it. */
  #keepProgress(): void {
    const receiver = this.protocol;
    this.protocol = null;
    if (!receiver) return;
    receiver.suspend();
    this.#progress = receiver.progress() ?? this.#progress;
  }

  /** Drops what earlier connections received (the partial file's bytes included). */
  #dropProgress(): void {
    void this.#progress?.partial?.sink.then((sink) => sink.abort()).catch(() => {});
    this.#progress = null;
  }

  /** Answers an offer (`attemptId`: its id, echoed so the sender can tell answers apart). */
  async #answer(offer: SessionDescription, attemptId: string | undefined): Promise<void> {
    // A new offer: the sender reconnects (or restarts); what arrived so far stays.
    this.#keepProgress();
    this.link?.close();
    this.link = null;
    this.#earlyCandidates = [];
    const attempt = ++this.attempt;
    this.stopProgress();
    this.set({
      phase: "connecting",
      route: null,
      files: this.view.files.map((file) =>
        file.status === "verified" || file.status === "failed"
          ? file
          : { ...file, status: "waiting" }
      ),
    });
    const stored = this.#stored;
    const iceServers = stored
      ? await this.iceServers({ code: this.#options.code, token: stored.receiverToken })
      : [];
    if (attempt !== this.attempt || this.ended || this.view.route === "relay") return;
    const link = this.openLink(iceServers, {
      onOpen: (opened, channel) => void this.#receive(opened, channel),
      onFailed: (reason) => {
        // The sender notices too and falls back to the relay; say what is happening meanwhile.
        if (this.view.phase !== "done") {
          this.set({ phase: "connecting", reason: `${reason}. Waiting for the sender…` });
        }
      },
    });
    // Queued by the link until the offer is set as its remote description.
    for (const candidate of this.#earlyCandidates.splice(0)) void link.addCandidate(candidate);
    try {
      await link.acceptOffer(offer, attemptId);
    } catch (error) {
      if (link === this.link) this.set({ reason: `Could not answer the sender: ${error}` });
    }
  }

  async #openSink(file: ManifestFile): Promise<FileSink> {
    const folder = this.#folder;
    if (isSnippet(file.type)) return new BlobSink(file.type);
    const store = this.#options.fileStore;
    if (!folder) {
      if (!store) return new BlobSink(file.type);
      return await store.open(file, {
        onCommit: (names) => this.#noteSegments(file.index, names),
      });
    }
    const handle = await folder.getFileHandle(file.name, { create: true });
    return new WritableSink(await handle.createWritable(), file.name, {
      remove: () => folder.removeEntry(file.name),
    });
  }

  async #receive(link: PeerConnector, channel: DataChannelLike): Promise<void> {
    if (link !== this.link || this.ended) return;
    // Listen before anything is awaited: a message with no listener is lost.
    const first = firstConfirmation(channel);
    first.catch(() => {});
    this.set({ phase: "connected", reason: "" });
    this.showRoute(link);
    // Nothing is received before the sender proved this is the paired connection; the
    // sender waits for this side's answer, sent once the protocol listens.
    let confirmed: { answer(): void } | false;
    try {
      confirmed = await this.confirmConnection(link, channel, first);
    } catch {
      return; // closed meanwhile: the sender falls back to the relay
    }
    if (!confirmed) return;
    const progress = this.#progress;
    this.#progress = null;
    const receiver = new FileReceiver(channel, {
      progress,
      openSink: (file) => this.#openSink(file),
      onManifest: (manifest) => {
        this.meter.reset();
        const held = new Set(progress?.results.map((result) => result.index));
        this.set({
          awaitingWords: false,
          phase: "transferring",
          reason: "",
          startedAt: this.view.startedAt ?? Date.now(),
          totalBytes: manifest.totalBytes,
          files: manifest.files.map((file) => {
            const shown = this.view.files[file.index];
            // Files an earlier connection finished stay as they are.
            if (shown && held.has(file.index) && shown.name === file.name) return shown;
            return {
              index: file.index,
              name: file.name,
              size: file.size,
              type: file.type,
              bytes: 0,
              status: "waiting",
            };
          }),
        });
      },
      onFile: (result) => void this.#fileDone(result),
    });
    // Without the secret the sender's person compares the words first.
    if (!this.pairing?.withSecret) this.set({ awaitingWords: true });
    confirmed.answer();
    await this.runProtocol(receiver, receiver.done, {
      done: () => {
        this.#finish();
        this.closeSoon(link, 1000);
      },
      // The sender reconnects (or, if that fails, uses the relay); keep what arrived.
      lost: () => {
        if (this.protocol === receiver) this.protocol = null;
        this.#progress = receiver.progress() ?? this.#progress;
        this.set({
          phase: "connecting",
          reason: "The direct connection was lost. Reconnecting…",
        });
        // The relay's words cover the public keys only.
        void this.#showKeyWords();
      },
    });
  }

  async #fileDone(result: ReceivedFile): Promise<void> {
    const stored = this.#stored;
    const entry = stored?.received?.find((item) => item.index === result.index);
    if (stored && entry) {
      // A reload offers a verified file as is; a damaged one is gone from the OPFS.
      if (result.ok) entry.sha256 = result.sha256;
      else stored.received = stored.received!.filter((item) => item !== entry);
      this.#save();
    }
    if (!result.ok) {
      this.setFile(result.index, { status: "failed", message: result.message });
      return;
    }
    const patch: Partial<FileView> = {
      status: "verified",
      sha256: result.sha256,
      bytes: result.size,
    };
    if (result.saved.kind === "blob") {
      this.#blobs.set(result.index, result.saved.blob);
      const url = URL.createObjectURL(result.saved.blob);
      this.#urls.push(url);
      patch.url = url;
      if (isSnippet(result.type)) patch.text = await result.saved.blob.text();
    } else {
      patch.savedToDisk = true;
    }
    this.setFile(result.index, patch);
  }

  protected override progress(): void {
    const receiver = this.protocol;
    if (!receiver) return;
    let active = -1;
    const files = this.view.files.map((file) => {
      if (file.status === "verified" || file.status === "failed") return file;
      const moved = receiver.fileReceivedBytes(file.index);
      if (moved > 0 && active === -1) active = file.index;
      return { ...file, bytes: moved, status: moved > 0 ? "active" as const : file.status };
    });
    this.showBytes(receiver.receivedBytes, { files, activeFile: active });
  }

  #finish(): void {
    if (this.#stored) {
      this.#stored.finished = true;
      this.#save();
    }
    this.ended = true;
    this.signaling?.close();
    this.set({
      phase: "done",
      activeFile: -1,
      bytes: this.view.totalBytes,
      finishedAt: Date.now(),
    });
  }

  async #onFallbackLink(url: string): Promise<void> {
    const parsed = parseFallbackLink(url);
    if (!parsed || parsed.index >= this.view.files.length) return;
    const pairing = this.pairing?.paired ? this.pairing : null;
    if (!parsed.key && !pairing) return;
    let relayTail: RelayTail | null = null;
    if (parsed.tail) {
      // Only the end of the file is on the relay: where it starts and the whole file's
      // SHA-256 come sealed by the sender (the server cannot change them).
      try {
        relayTail = parseRelayTail(await pairing!.open(parsed.tail, relayTailLabel(parsed.index)));
      } catch { /* refused below */ }
      const file = this.view.files[parsed.index];
      if (!pairing || !relayTail || relayTail.size !== file?.size) {
        this.fail("relay", "The relay link's file details do not open with the agreed key");
        return;
      }
    }
    if (this.view.route !== "relay") {
      // What arrived over the data channel stays: the relay may send only the rest of a file.
      this.#keepProgress();
      this.link?.close();
      this.link = null;
      this.stopProgress();
      this.meter.reset();
      this.set({
        phase: "transferring",
        route: "relay",
        reason: "",
        startedAt: Date.now(),
        bytes: this.view.files.filter((file) => file.status === "verified")
          .reduce((sum, file) => sum + file.size, 0),
      });
    }
    this.#links.set(parsed.index, { ...parsed, relayTail });
    if (pairing && !this.#relayWords) {
      // No DTLS on this path: the words cover both public keys.
      this.#relayWords = true;
      this.set({
        sas: await pairing.sas(null),
        pairing: pairing.withSecret ? this.view.pairing : "compare",
      });
    }
    // A link means the sender confirmed the words (or the receiver proved the secret).
    if (this.view.awaitingWords) this.set({ awaitingWords: false });
    void this.#downloadLinks();
  }

  /** Downloads and decrypts every relayed file not yet here, one at a time. */
  async #downloadLinks(): Promise<void> {
    if (this.#downloading) return;
    this.#downloading = true;
    const signal = this.relayWork.signal;
    try {
      while (!this.ended) {
        const next = [...this.#links.values()].find((link) =>
          this.view.files[link.index]?.status !== "verified" && !this.#relayFailed.has(link.index)
        );
        if (!next) break;
        const file = this.view.files[next.index]!;
        const before = this.view.files.filter((item) => item.status === "verified")
          .reduce((sum, item) => sum + item.size, 0);
        this.set({ activeFile: next.index });
        // The beginning of the file this page holds, when the relay has only the rest.
        const partial = next.relayTail ? this.#tailStart(next.index, next.relayTail) : null;
        if (next.relayTail && !partial && file.status === "failed") {
          // It arrived damaged over the data channel, but the sender did not hear of it: the
          // rest cannot mend it. It stays failed (never offered).
          this.#relayFailed.add(next.index);
          continue;
        }
        if (next.relayTail && !partial) {
          // This page lost part of what it held (a reload keeps only committed segments):
          // its `ready` made the sender upload the whole file instead; that link comes next.
          this.#links.delete(next.index);
          this.set({ reason: `Waiting for the sender to upload all of "${file.name}"…` });
          continue;
        }
        if (this.view.reason) this.set({ reason: "" });
        if (!partial && this.#progress?.partial?.index === next.index) {
          // A whole copy replaces what arrived over the data channel.
          this.#dropProgress();
        }
        const from = next.relayTail?.offset ?? 0;
        // A paired sender's link has no key: both pages derive it.
        const key = next.key ?? await this.pairing!.fileKeyText(next.index);
        const downloaded = await this.services.downloadFile(next.id, {
          key,
          signal,
          onProgress: ({ loaded, total }) => {
            const moved = Math.min(
              file.size,
              from + Math.round((file.size - from) * (loaded / Math.max(1, total))),
            );
            this.setFile(next.index, { status: "active", bytes: moved });
            this.showBytes(before + moved);
          },
        });
        if (partial) {
          await this.#appendTail(next.index, partial, next.relayTail!, downloaded.blob, signal);
          continue;
        }
        // AES-GCM already authenticated every record; the hash is shown and can be compared.
        const sha256 = await sha256OfBlob(downloaded.blob, { signal });
        this.#blobs.set(next.index, downloaded.blob);
        const url = URL.createObjectURL(downloaded.blob);
        this.#urls.push(url);
        this.setFile(next.index, {
          status: "verified",
          bytes: file.size,
          sha256,
          url,
          ...(isSnippet(file.type) ? { text: await downloaded.blob.text() } : {}),
        });
      }
      const all = this.view.files.length > 0 &&
        this.view.files.every((file) =>
          file.status === "verified" || this.#relayFailed.has(file.index)
        );
      if (all && !this.ended) {
        this.#dropProgress();
        this.#finish();
      }
    } catch (error) {
      if (signal.aborted || this.ended) return;
      this.fail(
        "relay",
        `The download from the relay failed: ${error instanceof Error ? error.message : error}`,
      );
    } finally {
      this.#downloading = false;
    }
  }

  /**
   * The partial file a relay upload of file `index` from `tail.offset` on
   * continues: this page must hold at least the bytes before the offset (it
   * may hold more: they are skipped in the upload). Null when it does not.
   */
  #tailStart(index: number, tail: RelayTail): PartialFile | null {
    const partial = this.#progress?.partial;
    if (!partial || partial.index !== index || partial.received < tail.offset) return null;
    return partial;
  }

  /**
   * Appends the relay's `tail` bytes this page does not hold yet to the
   * partial file (its OPFS segments, or wherever it was going), hashing them
   * on from the running SHA-256 of the bytes it held: the file is good only
   * when that hash of every byte equals the sender's whole-file SHA-256.
   */
  async #appendTail(
    index: number,
    partial: PartialFile,
    tail: RelayTail,
    bytes: Blob,
    signal: AbortSignal,
  ): Promise<void> {
    const file = this.view.files[index]!;
    const base = { index, name: file.name, size: file.size, type: file.type };
    await this.#progress?.writes;
    const sink = await partial.sink;
    // This page's own bytes end at `received`; the upload starts at `tail.offset`. What is
    // appended counts as held at once, so a retry after a failed write goes on from there.
    const good = bytes.size === file.size - tail.offset;
    while (good && partial.received < file.size) {
      signal.throwIfAborted();
      const position = partial.received - tail.offset;
      const chunk = new Uint8Array(
        await bytes.slice(position, position + TAIL_CHUNK_BYTES).arrayBuffer(),
      );
      await sink.write(chunk);
      partial.hash.update(chunk);
      partial.received += chunk.byteLength;
    }
    if (this.#progress?.partial === partial) this.#progress.partial = null;
    const actual = partial.hash.hex();
    if (!good || actual !== tail.sha256) {
      await sink.abort().catch(() => {});
      this.#relayFailed.add(index);
      await this.#fileDone({
        ...base,
        ok: false,
        code: "hash_mismatch",
        message:
          "Arrived damaged: this page's part and the relay's rest do not make the sender's file",
        expected: tail.sha256,
        actual,
      });
      return;
    }
    const saved = await sink.close();
    await this.#fileDone({ ...base, ok: true, sha256: actual, saved });
  }
}
