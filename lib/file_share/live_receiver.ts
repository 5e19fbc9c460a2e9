/**
 * The receiving side of a live transfer: joins by code (or rejoins after a
 * reload with the token kept in session storage), shows the files for the
 * person to accept or decline, answers the sender's WebRTC offer, receives and
 * verifies the files, and, when the sender falls back to link mode, downloads
 * and decrypts the uploaded copies by itself. Browser only; the page renders
 * {@linkcode ReceiverView}.
 */
import { downloadFile } from "../link_client/mod.ts";
import { type AnnouncedFile, fetchIceServers, joinTransfer } from "./api.ts";
import { ChannelClosedError } from "./channel.ts";
import { ShareApiError, TransferCanceledError } from "./errors.ts";
import { type FallbackLink, isSnippet, parseFallbackLink } from "./files.ts";
import type { ManifestFile } from "./messages.ts";
import { RateMeter } from "./meter.ts";
import { PeerLink } from "./peer.ts";
import { FileReceiver, type ReceivedFile } from "./receiver.ts";
import { sha256OfBlob } from "./sha256.ts";
import { openSignaling, type SignalingFrame, type SignalingSession } from "./signaling.ts";
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
export interface LiveReceiverOptions {
  code: string;
  /** "relay" forces TURN-only ICE (for testing a TURN setup). Default "all". */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Where the session survives a reload. Default `sessionStorage`. */
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem">;
  onChange(view: ReceiverView): void;
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

const SIGNALING_FAILURES = 4;

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
  if (!(error instanceof ShareApiError)) {
    return { problem: "join_failed", reason: `Could not join: ${error}` };
  }
  const reasons: Record<string, string> = {
    session_already_joined: "Someone already joined this transfer. Each code works only once.",
    session_not_found: "There is no transfer with this code. Check the code or ask for a new link.",
    session_expired: "This transfer has expired. Ask the sender to start a new one.",
    session_closed: "This transfer has ended.",
    rate_limited: "Too many attempts from your network. Wait a minute and try again.",
  };
  return { problem: error.code, reason: reasons[error.code] ?? error.message };
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
export class LiveReceiver {
  #options: LiveReceiverOptions;
  #storage: Pick<Storage, "getItem" | "setItem" | "removeItem">;
  #view: ReceiverView;
  #stored: StoredReceiverSession | null = null;
  #signaling: SignalingSession | null = null;
  #link: PeerLink | null = null;
  /** Which answer is being prepared (a newer offer supersedes an older one). */
  #attempt = 0;
  /** The sender's candidates that arrived while the link for its offer was being set up. */
  #earlyCandidates: RTCIceCandidateInit[] = [];
  #receiver: FileReceiver | null = null;
  #folder: FolderLike | null = null;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #meter = new RateMeter();
  #links = new Map<number, FallbackLink>();
  #downloads = new AbortController();
  #downloading = false;
  #urls: string[] = [];
  #ended = false;
  #failure: "signaling" | "transfer" | "relay" | null = null;

  constructor(options: LiveReceiverOptions) {
    this.#options = options;
    this.#storage = options.storage ?? globalThis.sessionStorage;
    this.#view = { ...emptyView(), code: options.code, accepted: false };
  }

  /** What to show now. */
  get view(): ReceiverView {
    return this.#view;
  }

  /** Joins (or rejoins from session storage) and connects to signaling. */
  async start(): Promise<void> {
    const code = this.#options.code;
    this.#set({ phase: "signaling" });
    let stored = readStoredSession(this.#storage, code);
    if (stored?.finished) {
      this.#end({
        phase: "failed",
        problem: "already_received",
        reason: "You already received this transfer in this tab. Ask the sender to send again.",
      });
      return;
    }
    if (!stored) {
      try {
        const joined = await joinTransfer(code);
        stored = {
          transferId: joined.transferId,
          receiverToken: joined.receiverToken,
          files: joined.files,
          cursor: null,
          accepted: false,
          finished: false,
        };
      } catch (error) {
        this.#end({ phase: "failed", ...joinProblem(error) });
        return;
      }
    }
    this.#stored = stored;
    this.#save();
    this.#set({
      files: stored.files.map((file, index) => ({ index, ...file, bytes: 0, status: "waiting" })),
      totalBytes: stored.files.reduce((sum, file) => sum + file.size, 0),
      accepted: stored.accepted,
      phase: stored.accepted ? "connecting" : "signaling",
    });
    this.#signaling = openSignaling({
      code,
      role: "joiner",
      token: stored.receiverToken,
      initialCursor: stored.cursor,
      onFrame: (frame) => this.#onFrame(frame),
      onStatus: (status, failures) => {
        this.#set({ reconnecting: status === "reconnecting" });
        if (failures >= SIGNALING_FAILURES && this.#needsSignaling()) {
          this.#failure = "signaling";
          this.#set({
            phase: "failed",
            reason: "The transfer session cannot be reached. It may have ended.",
          });
        }
      },
    });
    // Came back after accepting (a reload): ask the sender for a fresh connection.
    if (stored.accepted) this.#signaling.send({ type: "ready" });
  }

  /** Accepts the files; with a folder, they are written into it as they arrive. */
  accept(folder?: FolderLike): void {
    if (!this.#stored || this.#view.accepted || this.#ended) return;
    this.#folder = folder ?? null;
    this.#stored.accepted = true;
    this.#save();
    this.#set({
      accepted: true,
      phase: "connecting",
      ...(folder ? { toFolder: folder.name } : {}),
    });
    this.#signaling?.send({ type: "ready" });
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
    const failure = this.#failure;
    this.#failure = null;
    if (failure === "signaling") {
      this.#set({ phase: this.#view.accepted ? "connecting" : "signaling", reason: "" });
      this.#signaling?.reconnectNow();
      return;
    }
    if (failure === "relay") {
      this.#set({ phase: "transferring", reason: "" });
      void this.#downloadLinks();
      return;
    }
    if (failure === "transfer") {
      this.#set({ phase: "connecting", reason: "" });
      this.#signaling?.send({ type: "ready" });
    }
  }

  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Ends everything (page leaves). Object URLs of received files are released. */
  dispose(): void {
    this.#ended = true;
    clearInterval(this.#ticker);
    this.#downloads.abort();
    this.#link?.close();
    this.#signaling?.close();
    for (const url of this.#urls) URL.revokeObjectURL(url);
  }

  #needsSignaling(): boolean {
    const { phase, route } = this.#view;
    if (phase === "signaling" || phase === "connecting") return true;
    return route === "relay" && phase === "transferring";
  }

  #save(): void {
    if (!this.#stored) return;
    try {
      this.#storage.setItem(storageKey(this.#options.code), JSON.stringify(this.#stored));
    } catch { /* storage full or disabled: a reload joins again */ }
  }

  #set(patch: Partial<ReceiverView>): void {
    this.#view = { ...this.#view, ...patch };
    this.#options.onChange(this.#view);
  }

  #setFile(index: number, patch: Partial<FileView>): void {
    this.#set({
      files: this.#view.files.map((file) => file.index === index ? { ...file, ...patch } : file),
    });
  }

  #end(patch: Partial<ReceiverView>): void {
    this.#ended = true;
    clearInterval(this.#ticker);
    this.#downloads.abort();
    const link = this.#link;
    this.#link = null;
    setTimeout(() => link?.close(), 500);
    this.#set(patch);
  }

  #stop(reason: string): void {
    if (this.#ended) return;
    this.#receiver?.cancel(reason);
    this.#signaling?.send({ type: "cancel", reason });
    this.#forget();
    this.#end({ phase: "canceled", canceledBy: "you", reason });
  }

  /** The session is over for this tab: a reload must not rejoin it. */
  #forget(): void {
    try {
      this.#storage.removeItem(storageKey(this.#options.code));
    } catch { /* disabled */ }
  }

  #onFrame(frame: SignalingFrame): void {
    if (this.#stored && "cursor" in frame && typeof frame.cursor === "string") {
      this.#stored.cursor = frame.cursor;
      this.#save();
    }
    if (this.#ended && frame.type !== "cancel") return;
    switch (frame.type) {
      case "peer-joined":
        this.#set({ peer: "joined" });
        return;
      case "peer-left":
        this.#set({ peer: "left" });
        return;
      case "offer":
        if (this.#view.accepted && this.#view.route !== "relay") void this.#answer(frame.offer);
        return;
      case "ice-candidate":
        if (this.#link) void this.#link.addCandidate(frame.candidate);
        else if (this.#earlyCandidates.length < MAX_EARLY_CANDIDATES) {
          // The sender trickles candidates right after its offer, while the answer is
          // still fetching ICE servers: keep them for the link being made.
          this.#earlyCandidates.push(frame.candidate);
        }
        return;
      case "fallback-link":
        this.#onFallbackLink(frame.url);
        return;
      case "cancel": {
        this.#signaling?.close();
        if (this.#ended) return;
        this.#receiver?.cancel(frame.reason ?? "");
        this.#forget();
        const byServer = frame.by === "server";
        this.#end({
          phase: "canceled",
          canceledBy: byServer ? "server" : "peer",
          reason: byServer
            ? frame.reason === "expired" ? "The transfer expired" : `Ended: ${frame.reason}`
            : frame.reason || "The sender canceled",
        });
        return;
      }
      default:
        return;
    }
  }

  async #answer(offer: RTCSessionDescriptionInit): Promise<void> {
    this.#receiver?.cancel("Starting again");
    this.#receiver = null;
    this.#link?.close();
    this.#link = null;
    this.#earlyCandidates = [];
    const attempt = ++this.#attempt;
    clearInterval(this.#ticker);
    this.#set({
      phase: "connecting",
      route: null,
      bytes: 0,
      files: this.#view.files.map((file) => ({ ...file, bytes: 0, status: "waiting" })),
    });
    let iceServers: RTCIceServer[] = [];
    const stored = this.#stored;
    try {
      if (stored) {
        iceServers = (await fetchIceServers({
          code: this.#options.code,
          token: stored.receiverToken,
        })).iceServers;
      }
    } catch { /* host candidates still work on one network */ }
    if (attempt !== this.#attempt || this.#ended || this.#view.route === "relay") return;
    const link = new PeerLink({
      role: "joiner",
      iceServers,
      iceTransportPolicy: this.#options.iceTransportPolicy ?? "all",
      signal: (frame) => this.#signaling?.send(frame),
      onOpen: (channel) => void this.#receive(link, channel),
      onFailed: (reason) => {
        // The sender notices too and falls back to the relay; say what is happening meanwhile.
        if (link === this.#link && this.#view.phase !== "done") {
          this.#set({ phase: "connecting", reason: `${reason}. Waiting for the sender…` });
        }
      },
    });
    this.#link = link;
    // Queued by the link until the offer is set as its remote description.
    for (const candidate of this.#earlyCandidates.splice(0)) void link.addCandidate(candidate);
    try {
      await link.acceptOffer(offer);
    } catch (error) {
      if (link === this.#link) this.#set({ reason: `Could not answer the sender: ${error}` });
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

  async #receive(link: PeerLink, channel: RTCDataChannel): Promise<void> {
    if (link !== this.#link || this.#ended) return;
    this.#set({ phase: "connected", reason: "" });
    // The receiver listens before anything is awaited: the sender's manifest may already be
    // on its way, and a message with no listener is lost.
    void link.route().then((route) => {
      if (link === this.#link && this.#view.route !== "relay") {
        this.#set({ route: route ?? "direct" });
      }
    });
    const receiver = new FileReceiver(channel, {
      openSink: (file) => this.#openSink(file),
      onManifest: (manifest) => {
        this.#meter.reset();
        this.#set({
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
    this.#receiver = receiver;
    const tick = () => this.#progress(receiver);
    this.#ticker = setInterval(tick, 250);
    try {
      await receiver.done;
      clearInterval(this.#ticker);
      tick();
      this.#finish();
      setTimeout(() => link.close(), 1000);
    } catch (error) {
      clearInterval(this.#ticker);
      if (receiver !== this.#receiver || this.#ended) return;
      if (error instanceof TransferCanceledError) {
        if (error.by === "peer") {
          this.#forget();
          this.#end({ phase: "canceled", canceledBy: "peer", reason: error.message });
        }
        return;
      }
      if (error instanceof ChannelClosedError) {
        // The sender falls back to the relay for what is missing; wait for its links.
        this.#set({
          phase: "connecting",
          reason: "The direct connection was lost. Waiting for the sender to use the relay…",
        });
        return;
      }
      this.#failure = "transfer";
      this.#set({
        phase: "failed",
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async #fileDone(result: ReceivedFile): Promise<void> {
    if (!result.ok) {
      this.#setFile(result.index, { status: "failed", message: result.message });
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
    this.#setFile(result.index, patch);
  }

  #progress(receiver: FileReceiver): void {
    const bytes = receiver.receivedBytes;
    this.#meter.update(bytes);
    let active = -1;
    const files = this.#view.files.map((file) => {
      if (file.status === "verified" || file.status === "failed") return file;
      const moved = receiver.fileReceivedBytes(file.index);
      if (moved > 0 && active === -1) active = file.index;
      return { ...file, bytes: moved, status: moved > 0 ? "active" as const : file.status };
    });
    this.#set({
      bytes,
      files,
      activeFile: active,
      speed: this.#meter.bytesPerSecond,
      secondsLeft: this.#meter.secondsLeft(this.#view.totalBytes - bytes),
    });
  }

  #finish(): void {
    if (this.#stored) {
      this.#stored.finished = true;
      this.#save();
    }
    this.#ended = true;
    this.#signaling?.close();
    this.#set({
      phase: "done",
      activeFile: -1,
      bytes: this.#view.totalBytes,
      finishedAt: Date.now(),
    });
  }

  #onFallbackLink(url: string): void {
    const parsed = parseFallbackLink(url);
    if (!parsed || parsed.index >= this.#view.files.length) return;
    if (this.#view.route !== "relay") {
      this.#receiver?.cancel("Switching to the relay");
      this.#receiver = null;
      this.#link?.close();
      this.#link = null;
      clearInterval(this.#ticker);
      this.#meter.reset();
      this.#set({
        phase: "transferring",
        route: "relay",
        reason: "",
        startedAt: Date.now(),
        bytes: this.#view.files.filter((file) => file.status === "verified")
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
    const signal = this.#downloads.signal;
    try {
      while (!this.#ended) {
        const next = [...this.#links.values()].find((link) =>
          this.#view.files[link.index]?.status !== "verified"
        );
        if (!next) break;
        const file = this.#view.files[next.index]!;
        const before = this.#view.files.filter((item) => item.status === "verified")
          .reduce((sum, item) => sum + item.size, 0);
        this.#set({ activeFile: next.index });
        const downloaded = await downloadFile(next.id, {
          key: next.key,
          signal,
          onProgress: ({ loaded, total }) => {
            const moved = Math.min(
              file.size,
              Math.round(file.size * (loaded / Math.max(1, total))),
            );
            this.#meter.update(before + moved);
            this.#setFile(next.index, { status: "active", bytes: moved });
            this.#set({
              bytes: before + moved,
              speed: this.#meter.bytesPerSecond,
              secondsLeft: this.#meter.secondsLeft(this.#view.totalBytes - before - moved),
            });
          },
        });
        // AES-GCM already authenticated every record; the hash is shown and can be compared.
        const sha256 = await sha256OfBlob(downloaded.blob, { signal });
        const url = URL.createObjectURL(downloaded.blob);
        this.#urls.push(url);
        this.#setFile(next.index, {
          status: "verified",
          bytes: file.size,
          sha256,
          url,
          ...(isSnippet(file.type) ? { text: await downloaded.blob.text() } : {}),
        });
      }
      const all = this.#view.files.length > 0 &&
        this.#view.files.every((file) => file.status === "verified");
      if (all && !this.#ended) this.#finish();
    } catch (error) {
      if (signal.aborted || this.#ended) return;
      this.#failure = "relay";
      this.#set({
        phase: "failed",
        reason: `The download from the relay failed: ${
          error instanceof Error ? error.message : error
        }`,
      });
    } finally {
      this.#downloading = false;
    }
  }
}
