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
import { type FallbackLink, isSnippet, parseFallbackLink } from "./files.ts";
import { LiveTransfer, type LiveTransferOptions } from "./live_transfer.ts";
import { transferProblemReason } from "./problems.ts";
import type { PeerConnector } from "./services.ts";
import type { ManifestFile } from "./messages.ts";
import { FileReceiver, type ReceivedFile } from "./receiver.ts";
import { sha256OfBlob } from "./sha256.ts";
import type { SignalingFrame } from "./signaling.ts";
import { BlobSink, type FileSink, WritableSink } from "./sinks.ts";
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
  /** Where the session survives a reload. Default `sessionStorage`. */
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem">;
}

/** What is kept in session storage per code, so a reload rejoins instead of joining again. */
export interface StoredReceiverSession {
  transferId: string;
  receiverToken: string;
  files: AnnouncedFile[];
  cursor: string | null;
  accepted: boolean;
  finished: boolean;
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
    return {
      transferId: value.transferId,
      receiverToken: value.receiverToken,
      files,
      cursor: typeof value.cursor === "string" ? value.cursor : null,
      accepted: value.accepted === true,
      finished: value.finished === true,
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
  #links = new Map<number, FallbackLink>();
  #downloading = false;
  #urls: string[] = [];

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
    this.#save();
    this.set({
      files: stored.files.map((file, index) => ({ index, ...file, bytes: 0, status: "waiting" })),
      totalBytes: stored.files.reduce((sum, file) => sum + file.size, 0),
      accepted: stored.accepted,
      phase: stored.accepted ? "connecting" : "signaling",
    });
    const signaling = this.openSignaling(
      { code, token: stored.receiverToken, initialCursor: stored.cursor },
      () => this.fail("signaling", "The transfer session cannot be reached. It may have ended."),
    );
    // Came back after accepting (a reload): ask the sender for a fresh connection.
    if (stored.accepted) signaling.send({ type: "ready" });
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
    this.signaling?.send({ type: "ready" });
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
      this.signaling?.send({ type: "ready" });
    }
  }

  /** Ends everything (page leaves). Object URLs of received files are released. */
  override dispose(): void {
    super.dispose();
    for (const url of this.#urls) URL.revokeObjectURL(url);
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
        if (this.view.accepted && this.view.route !== "relay") void this.#answer(frame.offer);
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
        this.#onFallbackLink(frame.url);
        return;
      default:
        return;
    }
  }

  async #answer(offer: SessionDescription): Promise<void> {
    this.protocol?.cancel("Starting again");
    this.protocol = null;
    this.link?.close();
    this.link = null;
    this.#earlyCandidates = [];
    const attempt = ++this.attempt;
    this.stopProgress();
    this.set({
      phase: "connecting",
      route: null,
      bytes: 0,
      files: this.view.files.map((file) => ({ ...file, bytes: 0, status: "waiting" })),
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
      await link.acceptOffer(offer);
    } catch (error) {
      if (link === this.link) this.set({ reason: `Could not answer the sender: ${error}` });
    }
  }

  async #openSink(file: ManifestFile): Promise<FileSink> {
    const folder = this.#folder;
    if (!folder || isSnippet(file.type)) return new BlobSink(file.type);
    const handle = await folder.getFileHandle(file.name, { create: true });
    return new WritableSink(await handle.createWritable(), file.name, {
      remove: () => folder.removeEntry(file.name),
    });
  }

  async #receive(link: PeerConnector, channel: DataChannelLike): Promise<void> {
    if (link !== this.link || this.ended) return;
    this.set({ phase: "connected", reason: "" });
    // The receiver listens before anything is awaited: the sender's manifest may already be
    // on its way, and a message with no listener is lost.
    this.showRoute(link);
    const receiver = new FileReceiver(channel, {
      openSink: (file) => this.#openSink(file),
      onManifest: (manifest) => {
        this.meter.reset();
        this.set({
          phase: "transferring",
          startedAt: Date.now(),
          totalBytes: manifest.totalBytes,
          files: manifest.files.map((file) => ({
            index: file.index,
            name: file.name,
            size: file.size,
            type: file.type,
            bytes: 0,
            status: "waiting",
          })),
        });
      },
      onFile: (result) => void this.#fileDone(result),
    });
    await this.runProtocol(receiver, receiver.done, {
      done: () => {
        this.#finish();
        this.closeSoon(link, 1000);
      },
      // The sender falls back to the relay for what is missing; wait for its links.
      lost: () =>
        this.set({
          phase: "connecting",
          reason: "The direct connection was lost. Waiting for the sender to use the relay…",
        }),
    });
  }

  async #fileDone(result: ReceivedFile): Promise<void> {
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

  #onFallbackLink(url: string): void {
    const parsed = parseFallbackLink(url);
    if (!parsed || parsed.index >= this.view.files.length) return;
    if (this.view.route !== "relay") {
      this.protocol?.cancel("Switching to the relay");
      this.protocol = null;
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
    this.#links.set(parsed.index, parsed);
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
          this.view.files[link.index]?.status !== "verified"
        );
        if (!next) break;
        const file = this.view.files[next.index]!;
        const before = this.view.files.filter((item) => item.status === "verified")
          .reduce((sum, item) => sum + item.size, 0);
        this.set({ activeFile: next.index });
        const downloaded = await this.services.downloadFile(next.id, {
          key: next.key,
          signal,
          onProgress: ({ loaded, total }) => {
            const moved = Math.min(
              file.size,
              Math.round(file.size * (loaded / Math.max(1, total))),
            );
            this.setFile(next.index, { status: "active", bytes: moved });
            this.showBytes(before + moved);
          },
        });
        // AES-GCM already authenticated every record; the hash is shown and can be compared.
        const sha256 = await sha256OfBlob(downloaded.blob, { signal });
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
        this.view.files.every((file) => file.status === "verified");
      if (all && !this.ended) this.#finish();
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
}
