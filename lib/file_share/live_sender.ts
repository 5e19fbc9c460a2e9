/**
 * The sending side of a live transfer, from picking files to "delivered":
 * creates the session, waits for the receiver, connects over WebRTC, runs the
 * file-share protocol, and falls back to link mode (an encrypted upload whose
 * link goes to the receiver as `fallback-link`) when the browsers cannot
 * connect in time or the direct connection breaks. Browser only; the page
 * renders {@linkcode SenderView}.
 */
import {
  deleteFile,
  formatBytes,
  getFileInfo,
  type UploadedFile,
  uploadFile,
} from "../link_client/mod.ts";
import { type CreatedTransfer, createTransfer, fetchIceServers } from "./api.ts";
import { ChannelClosedError } from "./channel.ts";
import { ShareApiError, TransferCanceledError } from "./errors.ts";
import { fallbackLinkUrl, safeFileName, safeFileType } from "./files.ts";
import { RateMeter } from "./meter.ts";
import { PeerLink } from "./peer.ts";
import { FileSender, type OutgoingFile } from "./sender.ts";
import { sha256OfBlob } from "./sha256.ts";
import { openSignaling, type SignalingFrame, type SignalingSession } from "./signaling.ts";
import { emptyView, type FileView, type TransferView } from "./view.ts";

/** What the send page shows. */
export interface SenderView extends TransferView {
  code?: string;
  joinUrl?: string;
  expiresAt?: string;
}

/** Options of {@linkcode LiveSender}. */
export interface LiveSenderOptions {
  /** Fall back to link mode when the data channel is not open this long after the receiver is ready. */
  fallbackTimeoutMs: number;
  /** The server's link-mode upload cap (bytes). */
  maxUploadBytes: number;
  /** "relay" forces TURN-only ICE (for testing a TURN setup). Default "all". */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Every change of what to show. */
  onChange(view: SenderView): void;
}

/** Files up to this size are hashed before sending, so the manifest carries their SHA-256. */
const PREHASH_BYTES = 1024 * 1024;
/** Downloads allowed per fallback upload (the receiver may retry a broken download). */
const FALLBACK_DOWNLOADS = 5;
/** Signaling attempts in a row that may fail before the page says so. */
const SIGNALING_FAILURES = 4;

type Failure = "signaling" | "relay" | "transfer" | "closed";

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
export class LiveSender {
  #options: LiveSenderOptions;
  #view: SenderView = emptyView();
  #files: OutgoingFile[] = [];
  #session: CreatedTransfer | null = null;
  #signaling: SignalingSession | null = null;
  #link: PeerLink | null = null;
  #sender: FileSender | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #meter = new RateMeter();
  #uploads = new AbortController();
  #uploaded = new Map<number, { link: UploadedFile; url: string }>();
  #failure: Failure | null = null;
  #attempt = 0;
  #ended = false;

  constructor(options: LiveSenderOptions) {
    this.#options = options;
  }

  /** What to show now. */
  get view(): SenderView {
    return this.#view;
  }

  /** Creates the session for `files` (plus the snippet file, if any) and waits for the receiver. */
  async start(files: File[]): Promise<void> {
    this.#files = files.map((file) => ({
      blob: file,
      name: safeFileName(file.name),
      type: safeFileType(file.type),
    }));
    this.#ended = false;
    this.#set({
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
      const session = await createTransfer(
        this.#files.map((file) => ({
          name: file.name,
          size: file.blob.size,
          type: file.type ?? "",
        })),
      );
      if (this.#ended) return;
      this.#session = session;
      this.#set({ code: session.code, joinUrl: session.joinUrl, expiresAt: session.expiresAt });
      this.#signaling = openSignaling({
        code: session.code,
        role: "creator",
        token: session.senderToken,
        onFrame: (frame) => this.#onFrame(frame),
        onStatus: (status, failures) => {
          this.#set({ reconnecting: status === "reconnecting" });
          if (failures >= SIGNALING_FAILURES && this.#needsSignaling()) {
            this.#fail("signaling", "The connection to the server keeps failing");
          }
        },
      });
    } catch (error) {
      this.#fail(
        "signaling",
        error instanceof ShareApiError ? error.message : `Could not create the transfer: ${error}`,
      );
    }
  }

  /** Stops the transfer on both sides. */
  cancel(): void {
    if (this.#ended) return;
    const reason = "Canceled by the sender";
    this.#sender?.cancel(reason);
    this.#signaling?.send({ type: "cancel", reason });
    this.#end({ phase: "canceled", canceledBy: "you", reason });
    void this.#deleteUploads();
  }

  /**
   * Tries again after a failure: reconnects signaling, or (re)sends through the
   * relay. Returns false when this session cannot go on (it was closed): the
   * page then starts a new one.
   */
  retry(): boolean {
    const failure = this.#failure;
    this.#failure = null;
    if (failure === "signaling" && this.#signaling) {
      this.#ended = false;
      this.#set({ phase: this.#view.peer === "joined" ? "connecting" : "signaling", reason: "" });
      this.#signaling.reconnectNow();
      return true;
    }
    if (failure === "relay" || failure === "transfer") {
      this.#ended = false;
      void this.#fallBack(this.#view.relayReason ?? "Retrying through the relay");
      return true;
    }
    return false;
  }

  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Ends everything this sender holds (page leaves, or start over). */
  dispose(): void {
    this.#ended = true;
    clearTimeout(this.#timer);
    clearInterval(this.#ticker);
    this.#uploads.abort();
    this.#link?.close();
    this.#signaling?.close();
  }

  #needsSignaling(): boolean {
    const { phase, route } = this.#view;
    if (phase === "signaling" || phase === "connecting") return true;
    return route === "relay" && phase === "transferring";
  }

  #set(patch: Partial<SenderView>): void {
    this.#view = { ...this.#view, ...patch };
    this.#options.onChange(this.#view);
  }

  #setFile(index: number, patch: Partial<FileView>): void {
    const files = this.#view.files.map((file) =>
      file.index === index ? { ...file, ...patch } : file
    );
    this.#set({ files });
  }

  #fail(kind: Failure, reason: string): void {
    if (this.#ended) return;
    this.#failure = kind;
    clearTimeout(this.#timer);
    clearInterval(this.#ticker);
    this.#set({ phase: "failed", reason, problem: kind });
  }

  #end(patch: Partial<SenderView>): void {
    this.#ended = true;
    clearTimeout(this.#timer);
    clearInterval(this.#ticker);
    this.#uploads.abort();
    const link = this.#link;
    this.#link = null;
    // Let a last `cancel` message leave the data channel before it closes.
    setTimeout(() => link?.close(), 500);
    this.#set(patch);
  }

  #onFrame(frame: SignalingFrame): void {
    if (this.#ended && frame.type !== "cancel") return;
    switch (frame.type) {
      case "peer-joined":
        this.#set({ peer: "joined" });
        return;
      case "peer-left":
        this.#set({ peer: "left" });
        return;
      case "ready":
        void this.#onReady();
        return;
      case "answer":
        this.#link?.acceptAnswer(frame.answer).catch((error) =>
          this.#connectFailed(`The receiver's answer was not usable: ${error}`)
        );
        return;
      case "ice-candidate":
        void this.#link?.addCandidate(frame.candidate);
        return;
      case "cancel": {
        this.#signaling?.close();
        if (this.#ended) return;
        const byServer = frame.by === "server";
        this.#sender?.cancel(frame.reason ?? "");
        this.#end({
          phase: "canceled",
          canceledBy: byServer ? "server" : "peer",
          reason: byServer
            ? frame.reason === "expired" ? "The transfer expired" : `Ended: ${frame.reason}`
            : frame.reason || "The receiver canceled",
        });
        void this.#deleteUploads();
        return;
      }
      default:
        return;
    }
  }

  /** The receiver accepted (or came back after a reload): start a connection attempt. */
  async #onReady(): Promise<void> {
    const { phase, route } = this.#view;
    if (phase === "done" && route !== "relay") return;
    if (route === "relay") {
      // The receiver reloaded while the relay was used: send it the links again.
      for (const { url } of this.#uploaded.values()) {
        this.#signaling?.send({ type: "fallback-link", url });
      }
      return;
    }
    this.#sender?.cancel("The receiver reconnected; starting again");
    this.#sender = null;
    this.#link?.close();
    this.#link = null;
    clearInterval(this.#ticker);
    const attempt = ++this.#attempt;
    this.#set({
      phase: "connecting",
      route: null,
      bytes: 0,
      activeFile: -1,
      files: this.#view.files.map((file) => ({ ...file, bytes: 0, status: "waiting" })),
    });
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => void this.#fallBack("The browsers did not connect in time"),
      this.#options.fallbackTimeoutMs,
    );
    let iceServers: RTCIceServer[] = [];
    const session = this.#session;
    try {
      if (session) {
        iceServers = (await fetchIceServers({ code: session.code, token: session.senderToken }))
          .iceServers;
      }
    } catch { /* host candidates still work on one network */ }
    if (attempt !== this.#attempt || this.#ended) return;
    const link = new PeerLink({
      role: "creator",
      iceServers,
      iceTransportPolicy: this.#options.iceTransportPolicy ?? "all",
      signal: (frame) => this.#signaling?.send(frame),
      onOpen: (channel) => void this.#transfer(link, channel),
      onFailed: (reason) => {
        if (link === this.#link) this.#connectFailed(reason);
      },
    });
    this.#link = link;
    link.start().catch((error) => this.#connectFailed(`Could not start WebRTC: ${error}`));
  }

  #connectFailed(reason: string): void {
    const { phase } = this.#view;
    if (phase === "connecting" || phase === "connected" || phase === "transferring") {
      void this.#fallBack(reason);
    }
  }

  async #transfer(link: PeerLink, channel: RTCDataChannel): Promise<void> {
    if (link !== this.#link || this.#ended) return;
    clearTimeout(this.#timer);
    this.#set({ phase: "connected" });
    // Start at once (the receiver listens from the moment the channel opens); the route
    // is shown when getStats() has it.
    void link.route().then((route) => {
      if (link === this.#link && this.#view.route !== "relay") {
        this.#set({ route: route ?? "direct" });
      }
    });
    const sender = new FileSender(channel, this.#files, {
      onVerified: (index) =>
        this.#setFile(index, { status: "verified", bytes: this.#files[index]!.blob.size }),
      onFailed: (index, _code, message) => this.#setFile(index, { status: "failed", message }),
    });
    this.#sender = sender;
    this.#meter.reset();
    this.#set({ phase: "transferring", startedAt: Date.now() });
    const tick = () => this.#progress(sender);
    this.#ticker = setInterval(tick, 250);
    try {
      const result = await sender.run();
      clearInterval(this.#ticker);
      tick();
      const failed = new Set(result.failed);
      this.#ended = true;
      this.#set({
        phase: "done",
        finishedAt: Date.now(),
        activeFile: -1,
        bytes: this.#view.totalBytes,
        files: this.#view.files.map((file) =>
          failed.has(file.index)
            ? { ...file, status: "failed", message: file.message ?? "Arrived damaged" }
            : { ...file, status: "verified", bytes: file.size }
        ),
      });
      // The receiver has everything; signaling is no longer needed.
      this.#signaling?.close();
      setTimeout(() => link.close(), 1000);
    } catch (error) {
      clearInterval(this.#ticker);
      if (sender !== this.#sender || this.#ended) return;
      if (error instanceof TransferCanceledError) {
        if (error.by === "peer") {
          this.#end({ phase: "canceled", canceledBy: "peer", reason: error.message });
        }
        return;
      }
      if (error instanceof ChannelClosedError) {
        await this.#fallBack("The direct connection was lost");
        return;
      }
      this.#failure = "transfer";
      this.#fail("transfer", error instanceof Error ? error.message : String(error));
    }
  }

  #progress(sender: FileSender): void {
    const bytes = sender.sentBytes;
    this.#meter.update(bytes);
    const active = sender.currentFile;
    const files = this.#view.files.map((file) => {
      if (file.status === "verified" || file.status === "failed") return file;
      const moved = sender.fileSentBytes(file.index);
      return {
        ...file,
        bytes: moved,
        status: moved > 0 || file.index === active ? "active" as const : file.status,
      };
    });
    this.#set({
      bytes,
      files,
      activeFile: active,
      speed: this.#meter.bytesPerSecond,
      secondsLeft: this.#meter.secondsLeft(this.#view.totalBytes - bytes),
    });
  }

  /** Sends every file not yet delivered through link mode instead. */
  async #fallBack(reason: string): Promise<void> {
    if (this.#ended || !this.#signaling) return;
    if (this.#view.route === "relay" && this.#view.phase === "transferring") return;
    clearTimeout(this.#timer);
    clearInterval(this.#ticker);
    this.#attempt++;
    this.#sender?.cancel("Switching to the relay");
    this.#sender = null;
    this.#link?.close();
    this.#link = null;
    this.#uploads = new AbortController();
    const signal = this.#uploads.signal;
    this.#meter.reset();
    this.#set({
      phase: "transferring",
      route: "relay",
      relayReason: reason,
      startedAt: Date.now(),
      bytes: this.#view.files
        .filter((file) => file.status === "verified" || this.#uploaded.has(file.index))
        .reduce((sum, file) => sum + file.size, 0),
    });
    const count = this.#files.length;
    const tooLarge = this.#files.filter((file, index) =>
      this.#view.files[index]?.status !== "verified" && !this.#uploaded.has(index) &&
      file.blob.size > this.#options.maxUploadBytes
    );
    if (tooLarge.length > 0) {
      // The receiver would wait for links that never come: end the session with the reason.
      const names = tooLarge.map((file) => `"${file.name}"`).join(", ");
      const why = `${reason}, and ${names} ${
        tooLarge.length === 1 ? "is" : "are"
      } larger than the relay's limit of ${formatBytes(this.#options.maxUploadBytes)}`;
      this.#signaling?.send({ type: "cancel", reason: why.slice(0, 200) });
      this.#failure = "closed";
      this.#ended = true;
      this.#set({ phase: "failed", route: null, reason: `${why}.`, problem: "closed" });
      return;
    }
    for (const [index, file] of this.#files.entries()) {
      if (this.#view.files[index]?.status === "verified" || this.#uploaded.has(index)) continue;
      const before = this.#view.bytes;
      this.#setFile(index, { status: "encrypting", bytes: 0 });
      this.#set({ activeFile: index });
      try {
        const link = await uploadFile(file.blob, {
          name: file.name,
          maxBytes: this.#options.maxUploadBytes,
          maxDownloads: FALLBACK_DOWNLOADS,
          signal,
          onProgress: (progress) => {
            if (progress.phase !== "uploading") return;
            const moved = Math.round(
              file.blob.size * (progress.loaded / Math.max(1, progress.total)),
            );
            this.#meter.update(before + moved);
            this.#setFile(index, { status: "active", bytes: moved });
            this.#set({
              bytes: before + moved,
              speed: this.#meter.bytesPerSecond,
              secondsLeft: this.#meter.secondsLeft(this.#view.totalBytes - before - moved),
            });
          },
        });
        const url = fallbackLinkUrl(link.url, index, count);
        this.#uploaded.set(index, { link, url });
        this.#signaling?.send({ type: "fallback-link", url });
        this.#setFile(index, { status: "uploaded", bytes: file.blob.size });
        this.#set({ bytes: before + file.blob.size });
      } catch (error) {
        if (signal.aborted || this.#ended) return;
        this.#fail(
          "relay",
          `The upload to the relay failed: ${error instanceof Error ? error.message : error}`,
        );
        return;
      }
    }
    if (this.#ended) return;
    this.#set({ phase: "done", activeFile: -1, finishedAt: Date.now() });
    void this.#watchDownloads(signal);
  }

  /** Marks relayed files "downloaded" once the receiver fetched them. */
  async #watchDownloads(signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + 30 * 60_000;
    while (!signal.aborted && Date.now() < deadline) {
      const waiting = [...this.#uploaded.entries()].filter(([index]) =>
        this.#view.files[index]?.status === "uploaded"
      );
      if (waiting.length === 0) return;
      for (const [index, { link }] of waiting) {
        try {
          const info = await getFileInfo(link.id, { signal });
          if (info.downloadsLeft !== null && info.downloadsLeft < FALLBACK_DOWNLOADS) {
            this.#setFile(index, { status: "downloaded" });
          }
        } catch {
          if (signal.aborted) return;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }

  async #deleteUploads(): Promise<void> {
    const uploads = [...this.#uploaded.values()];
    this.#uploaded.clear();
    await Promise.allSettled(
      uploads.map(({ link }) => deleteFile(link.id, link.deleteToken)),
    );
  }
}
