/**
 * What the two sides of a live transfer share: the view they publish, the
 * signaling socket (reconnects, "cannot reach the server" after a few failures
 * in a row), the other side coming and going, a cancel from the other side or
 * the server, the WebRTC connection attempt, and running the file-share
 * protocol over its data channel with progress. Everything that talks to the
 * world is an injected `LiveTransferServices` (`services.ts`), so the state
 * machines run in unit tests over in-memory channels.
 */
import { ChannelClosedError, type DataChannelLike } from "./channel.ts";
import { TransferCanceledError } from "./errors.ts";
import { RateMeter } from "./meter.ts";
import { confirmMessage, PairingSession } from "./pairing/mod.ts";
import { transferProblemReason } from "./problems.ts";
import { BROWSER_SERVICES, type LiveTransferServices, type PeerConnector } from "./services.ts";
import type { SignalingFrame, SignalingSession } from "./signaling.ts";
import type { FileView, TransferView } from "./view.ts";

/** Options both sides take. */
export interface LiveTransferOptions<V extends TransferView> {
  /** "relay" forces TURN-only ICE (for testing a TURN setup). Default "all". */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Default {@linkcode BROWSER_SERVICES}; unit tests pass in-memory ones. */
  services?: LiveTransferServices;
  /** Every change of what to show. */
  onChange(view: V): void;
}

/** Why a transfer stopped short: which step can be retried. */
export type TransferFailure = "signaling" | "relay" | "transfer" | "closed";

/** The protocol end running over the data channel (`FileSender` or `FileReceiver`). */
export interface ProtocolEnd {
  cancel(reason: string): void;
}

/** Signaling attempts in a row that may fail before the page says so. */
const SIGNALING_FAILURES = 4;
/** How often progress is shown while bytes move. */
const PROGRESS_MS = 250;

/**
 * The base of `LiveSender` and `LiveReceiver`: one side of a live transfer
 * (view `V`, protocol end `P`), and the steps both sides take.
 */
export abstract class LiveTransfer<V extends TransferView, P extends ProtocolEnd> {
  /** The world this side talks to. */
  protected readonly services: LiveTransferServices;
  /** Speed and time left. */
  protected readonly meter: RateMeter = new RateMeter();
  /** The signaling socket, once the session is known. */
  protected signaling: SignalingSession | null = null;
  /** The current connection attempt to the other browser. */
  protected link: PeerConnector | null = null;
  /** The protocol end of the current attempt. */
  protected protocol: P | null = null;
  /** Uploads to or downloads from the relay; aborted when the transfer ends. */
  protected relayWork: AbortController = new AbortController();
  /** What `retry()` would retry. */
  protected failure: TransferFailure | null = null;
  /** Counts connection attempts: a newer one makes an older one's late results void. */
  protected attempt = 0;
  /** Nothing more happens (done, canceled, or disposed). */
  protected ended = false;
  /** The pairing with the other page (ECDH keys, SAS, key confirmation), once made. */
  protected pairing: PairingSession | null = null;
  #view: V;
  #onChange: (view: V) => void;
  #role: "creator" | "joiner";
  #other: "sender" | "receiver";
  #iceTransportPolicy: RTCIceTransportPolicy;
  #ticker: ReturnType<typeof setInterval> | undefined;
  /** Links closed a little later (a last message may still be leaving), and their timers. */
  #closing = new Map<PeerConnector, ReturnType<typeof setTimeout>>();

  constructor(role: "creator" | "joiner", options: LiveTransferOptions<V>, view: V) {
    this.#role = role;
    this.#other = role === "creator" ? "receiver" : "sender";
    this.services = options.services ?? BROWSER_SERVICES;
    this.#iceTransportPolicy = options.iceTransportPolicy ?? "all";
    this.#onChange = options.onChange;
    this.#view = view;
  }

  /** What to show now. */
  get view(): V {
    return this.#view;
  }

  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Ends everything this side holds (the page leaves, or starts over). */
  dispose(): void {
    this.ended = true;
    this.stopProgress();
    this.relayWork.abort();
    this.link?.close();
    this.signaling?.close();
    for (const [link, timer] of this.#closing) {
      clearTimeout(timer);
      link.close();
    }
    this.#closing.clear();
  }

  /** Shows a change. */
  protected set(patch: Partial<V> | Partial<TransferView>): void {
    this.#view = { ...this.#view, ...patch };
    this.#onChange(this.#view);
  }

  /** Shows a change of one file. */
  protected setFile(index: number, patch: Partial<FileView>): void {
    this.set({
      files: this.#view.files.map((file) => file.index === index ? { ...file, ...patch } : file),
    });
  }

  /** What a failure adds to the view besides `phase` and `reason` (nothing by default). */
  protected failurePatch(_kind: TransferFailure): Partial<V> {
    return {};
  }

  /** Stops short, in a way `retry()` can take up. */
  protected fail(kind: TransferFailure, reason: string): void {
    if (this.ended) return;
    this.failure = kind;
    this.stopProgress();
    this.set({ ...this.failurePatch(kind), phase: "failed", reason });
  }

  /** Ends for good with `patch` (done, canceled or a failure nothing can retry). */
  protected end(patch: Partial<V> | Partial<TransferView>): void {
    this.ended = true;
    this.stopProgress();
    this.relayWork.abort();
    const link = this.link;
    this.link = null;
    // Let a last `cancel` message leave the data channel before it closes.
    if (link) this.closeSoon(link, 500);
    this.set({ awaitingWords: false, ...patch });
  }

  /** Closes `link` after `ms` (or at once on dispose). */
  protected closeSoon(link: PeerConnector, ms: number): void {
    if (this.#closing.has(link)) return;
    this.#closing.set(
      link,
      setTimeout(() => {
        this.#closing.delete(link);
        link.close();
      }, ms),
    );
  }

  /** True while this side cannot go on without the signaling socket. */
  protected needsSignaling(): boolean {
    const { phase, route } = this.#view;
    if (phase === "signaling" || phase === "connecting") return true;
    return route === "relay" && phase === "transferring";
  }

  /** Opens the signaling socket of this side. */
  protected openSignaling(
    session: { code: string; token: string; initialCursor?: string | null },
    signalingFailed: () => void,
  ): SignalingSession {
    this.signaling = this.services.openSignaling({
      code: session.code,
      role: this.#role,
      token: session.token,
      initialCursor: session.initialCursor ?? null,
      onFrame: (frame) => this.#onFrame(frame),
      onStatus: (status, failures, detail) => {
        // Refused after the upgrade (docs/protocol.md): the server's error frame says why.
        if (status === "closed" && detail?.error && !this.ended) {
          const { code, message } = detail.error;
          this.end({
            phase: "failed",
            problem: code,
            reason: transferProblemReason(code, message),
          });
          return;
        }
        this.set({ reconnecting: status === "reconnecting" });
        if (failures >= SIGNALING_FAILURES && this.needsSignaling()) signalingFailed();
      },
    });
    return this.signaling;
  }

  /** Every frame with a cursor, before anything else (the receiver keeps it across reloads). */
  protected onCursor(_cursor: string): void {}

  /** The frames only one side handles (offer, answer, candidates, ready, fallback links). */
  protected abstract onSignal(frame: SignalingFrame): void;

  /** The other side or the server ended the transfer; the view already says so. */
  protected onCanceled(): void {}

  #onFrame(frame: SignalingFrame): void {
    if ("cursor" in frame && typeof frame.cursor === "string") this.onCursor(frame.cursor);
    if (this.ended && frame.type !== "cancel") return;
    switch (frame.type) {
      case "peer-joined":
        this.set({ peer: "joined" });
        return;
      case "peer-left":
        this.set({ peer: "left" });
        return;
      case "cancel": {
        this.signaling?.close();
        if (this.ended) return;
        const byServer = frame.by === "server";
        this.protocol?.cancel(frame.reason ?? "");
        this.end({
          phase: "canceled",
          canceledBy: byServer ? "server" : "peer",
          reason: byServer
            ? frame.reason === "expired" ? "The transfer expired" : `Ended: ${frame.reason}`
            : frame.reason || `The ${this.#other} canceled`,
        });
        this.onCanceled();
        return;
      }
      default:
        this.onSignal(frame);
    }
  }

  /**
   * Stops for good because the pages could not verify each other (a key
   * confirmation failed, or the sealed file list did not open): someone may be
   * in between. The other side hears it through signaling; nothing is written.
   */
  protected refuse(detail: string): void {
    if (this.ended) return;
    // The page's pairing notice says what it means; the reason says what failed.
    const reason = `${detail.charAt(0).toUpperCase()}${detail.slice(1)}.`;
    this.protocol?.cancel("Verification failed");
    this.protocol = null;
    this.signaling?.send({
      type: "cancel",
      reason: `Verification failed: ${detail}`.slice(0, 200),
    });
    this.end({ phase: "failed", problem: "pairing_mismatch", pairing: "mismatch", reason });
    this.onCanceled();
  }

  /**
   * The key confirmation of a fresh connection: shows the words of this
   * connection (both ECDH keys and both DTLS fingerprints as this browser saw
   * them), sends this side's code (the sender at once; the receiver through
   * the returned `answer()` once it listens for the protocol), and checks the
   * other side's, `first` (from `firstConfirmation`, listening since the
   * channel opened). False when the check failed (already refused); rejects
   * with `ChannelClosedError` when the channel closed meanwhile.
   */
  protected async confirmConnection(
    link: PeerConnector,
    channel: DataChannelLike,
    first: Promise<string | null>,
  ): Promise<{ answer(): void } | false> {
    const pairing = this.pairing;
    if (!pairing?.paired) {
      this.refuse("the pages never exchanged keys");
      return false;
    }
    const fingerprints = await link.fingerprints();
    const sas = await pairing.sas(fingerprints);
    const own = await pairing.confirmation(fingerprints);
    if (link !== this.link || this.ended) return false;
    this.set({ sas, pairing: pairing.withSecret ? this.view.pairing : "compare" });
    if (this.#role === "creator") channel.send(confirmMessage(own));
    const code = await first;
    const ok = code !== null && await pairing.checkConfirmation(fingerprints, code);
    if (link !== this.link || this.ended) return false;
    if (!ok) {
      this.refuse("the other page's confirmation does not match this connection");
      return false;
    }
    if (pairing.withSecret) this.set({ pairing: "verified" });
    return {
      answer: () => {
        if (this.#role === "joiner") channel.send(confirmMessage(own));
      },
    };
  }

  /** The ICE servers of this session; none when they cannot be had (host candidates still work). */
  protected async iceServers(session: { code: string; token: string }): Promise<RTCIceServer[]> {
    try {
      return (await this.services.fetchIceServers(session)).iceServers;
    } catch {
      return [];
    }
  }

  /**
   * Starts a connection attempt to the other browser; `onFailed` hears only of
   * this attempt while it is the current one.
   */
  protected openLink(
    iceServers: RTCIceServer[],
    handlers: {
      onOpen(link: PeerConnector, channel: DataChannelLike): void;
      onFailed(reason: string): void;
    },
  ): PeerConnector {
    const link: PeerConnector = this.services.openPeer({
      role: this.#role,
      iceServers,
      iceTransportPolicy: this.#iceTransportPolicy,
      signal: (frame) => this.signaling?.send(frame),
      onOpen: (channel) => handlers.onOpen(link, channel),
      onFailed: (reason) => {
        if (link === this.link) handlers.onFailed(reason);
      },
    });
    this.link = link;
    return link;
  }

  /** Shows the route once the connection knows it (unless the relay took over meanwhile). */
  protected showRoute(link: PeerConnector): void {
    void link.route().then((route) => {
      if (link === this.link && this.#view.route !== "relay") {
        this.set({ route: route ?? "direct" });
      }
    });
  }

  /** Shows how far the bytes are (called every {@linkcode PROGRESS_MS} while they move). */
  protected abstract progress(): void;

  /** Shows `bytes` moved of all files, with speed and time left, and `patch`. */
  protected showBytes(bytes: number, patch: Partial<V> | Partial<TransferView> = {}): void {
    this.meter.update(bytes);
    this.set({
      ...patch,
      bytes,
      speed: this.meter.bytesPerSecond,
      secondsLeft: this.meter.secondsLeft(this.#view.totalBytes - bytes),
    });
  }

  /** Stops showing progress. */
  protected stopProgress(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  /**
   * Runs the protocol end `protocol` until `run` settles: progress meanwhile,
   * then `done`; a cancel by the other side ends the transfer, a closed
   * channel goes to `lost`, anything else is a `transfer` failure.
   */
  protected async runProtocol<R>(
    protocol: P,
    run: Promise<R>,
    handlers: { done(result: R): void; lost(): void | Promise<void> },
  ): Promise<void> {
    this.protocol = protocol;
    this.stopProgress();
    this.#ticker = setInterval(() => this.progress(), PROGRESS_MS);
    try {
      const result = await run;
      this.stopProgress();
      this.progress();
      handlers.done(result);
    } catch (error) {
      this.stopProgress();
      if (protocol !== this.protocol || this.ended) return;
      if (error instanceof TransferCanceledError) {
        if (error.by === "peer") {
          this.end({ phase: "canceled", canceledBy: "peer", reason: error.message });
          this.onCanceled();
        }
        return;
      }
      if (error instanceof ChannelClosedError) return await handlers.lost();
      this.fail("transfer", error instanceof Error ? error.message : String(error));
    }
  }
}
