/**
 * One WebRTC connection between sender and receiver: offer/answer and trickled
 * ICE candidates go through the signaling socket; the result is one ordered,
 * reliable `RTCDataChannel` carrying the file-share protocol. Browser only.
 */
// Types only: the server's schemas stay out of the browser bundle.
import type {
  IceCandidate,
  SessionDescription,
  SignalingClientFrame,
} from "../transfer/signaling.ts";
import { encodeBase64Url } from "../text/mod.ts";

/** Label of the data channel the files travel on. */
export const CHANNEL_LABEL = "switchboard-files";

/** A signaling frame this side sends: the server's types of offers, answers and candidates. */
export type PeerSignal = Extract<
  SignalingClientFrame,
  { type: "offer" | "answer" | "ice-candidate" }
>;

/** A description as `RTCPeerConnection` takes it (the protocol also allows a bare SDP string). */
function descriptionOf(
  description: SessionDescription,
  type: "offer" | "answer",
): RTCSessionDescriptionInit {
  return typeof description === "string" ? { type, sdp: description } : description;
}

/** A candidate as `RTCPeerConnection` takes it (the protocol also allows a bare candidate line). */
function candidateOf(candidate: IceCandidate): RTCIceCandidateInit {
  return typeof candidate === "string" ? { candidate } : candidate;
}

/** How the connected browsers reach each other. */
export type PeerRoute = "direct" | "turn";

/** Options of {@linkcode PeerLink}. */
export interface PeerLinkOptions {
  /** The creator (sender) makes the offer and the channel; the joiner answers. */
  role: "creator" | "joiner";
  iceServers: RTCIceServer[];
  /** "relay" uses TURN only (tests and people checking their TURN server). Default "all". */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Sends a frame to the other side over signaling. */
  signal(frame: PeerSignal): void;
  /** The data channel is open. */
  onOpen(channel: RTCDataChannel): void;
  /** ICE or DTLS failed, or an open connection was lost. */
  onFailed(reason: string): void;
  /** Connection state changes (for the UI). */
  onState?(state: RTCPeerConnectionState): void;
}

/**
 * A peer connection for one transfer attempt.
 *
 * @example
 * ```ts
 * import { openSignaling } from "./signaling.ts";
 *
 * const signaling = openSignaling({
 *   code: "K7QX3M",
 *   role: "creator",
 *   token: "ts_…",
 *   onFrame: (frame) => {
 *     if (frame.type === "answer") void link.acceptAnswer(frame.answer);
 *     if (frame.type === "ice-candidate") void link.addCandidate(frame.candidate);
 *   },
 * });
 * const link = new PeerLink({
 *   role: "creator",
 *   iceServers: [{ urls: "stun:stun.example.com:3478" }],
 *   signal: (frame) => signaling.send(frame),
 *   onOpen: (channel) => console.log("open", channel.label),
 *   onFailed: (reason) => console.warn(reason),
 * });
 * await link.start();
 * ```
 */
export class PeerLink {
  #options: PeerLinkOptions;
  #pc: RTCPeerConnection;
  #pending: IceCandidate[] = [];
  #remoteSet = false;
  #closed = false;
  #opened = false;
  #channel: RTCDataChannel | null = null;
  /**
   * This connection's attempt id: the creator's, random, sent with its offer; the
   * joiner's, the one of the offer it answers, echoed with its answer.
   */
  #attempt: string | undefined;

  constructor(options: PeerLinkOptions) {
    this.#options = options;
    this.#pc = new RTCPeerConnection({
      iceServers: options.iceServers,
      iceTransportPolicy: options.iceTransportPolicy ?? "all",
    });
    this.#pc.onicecandidate = (event) => {
      if (event.candidate && event.candidate.candidate && !this.#closed) {
        const init = event.candidate.toJSON();
        options.signal({
          type: "ice-candidate",
          candidate: {
            candidate: init.candidate ?? "",
            sdpMid: init.sdpMid ?? null,
            sdpMLineIndex: init.sdpMLineIndex ?? null,
            usernameFragment: init.usernameFragment ?? null,
          },
        });
      }
    };
    this.#pc.onconnectionstatechange = () => {
      if (this.#closed) return;
      const state = this.#pc.connectionState;
      options.onState?.(state);
      if (state === "failed") {
        this.#fail(
          this.#opened
            ? "The direct connection was lost"
            : "The browsers could not connect directly (ICE failed)",
        );
      }
    };
    this.#pc.ondatachannel = (event) => {
      if (options.role === "joiner" && event.channel.label === CHANNEL_LABEL) {
        this.#adopt(event.channel);
      }
    };
  }

  /** The data channel, once open. */
  get channel(): RTCDataChannel | null {
    return this.#opened ? this.#channel : null;
  }

  /** The creator's first step: the channel and the offer. */
  async start(): Promise<void> {
    if (this.#options.role !== "creator") throw new Error("Only the creator makes the offer");
    this.#adopt(this.#pc.createDataChannel(CHANNEL_LABEL, { ordered: true }));
    const offer = await this.#pc.createOffer();
    await this.#pc.setLocalDescription(offer);
    if (this.#closed) return;
    this.#attempt = encodeBase64Url(crypto.getRandomValues(new Uint8Array(12)));
    this.#options.signal({
      type: "offer",
      offer: { type: "offer", sdp: offer.sdp ?? "" },
      attempt: this.#attempt,
    });
  }

  /** The joiner answers an offer, echoing its attempt id (when it has one). */
  async acceptOffer(offer: SessionDescription, attempt?: string): Promise<void> {
    this.#attempt = attempt;
    await this.#pc.setRemoteDescription(descriptionOf(offer, "offer"));
    await this.#remoteReady();
    const answer = await this.#pc.createAnswer();
    await this.#pc.setLocalDescription(answer);
    if (this.#closed) return;
    const sdp = { type: "answer" as const, sdp: answer.sdp ?? "" };
    this.#options.signal(
      attempt === undefined
        ? { type: "answer", answer: sdp }
        : { type: "answer", answer: sdp, attempt },
    );
  }

  /**
   * The creator takes the joiner's answer: ignored unless an offer is outstanding,
   * and when it answers another attempt's offer (one without an attempt id, from a
   * client that does not send them, is taken).
   */
  async acceptAnswer(answer: SessionDescription, attempt?: string): Promise<void> {
    if (this.#pc.signalingState !== "have-local-offer") return;
    if (attempt !== undefined && attempt !== this.#attempt) return;
    await this.#pc.setRemoteDescription(descriptionOf(answer, "answer"));
    await this.#remoteReady();
  }

  /** A candidate from the other side; kept until the remote description is set. */
  async addCandidate(candidate: IceCandidate): Promise<void> {
    if (!this.#remoteSet) {
      this.#pending.push(candidate);
      return;
    }
    try {
      await this.#pc.addIceCandidate(candidateOf(candidate));
    } catch {
      // A candidate of an earlier attempt (another ICE ufrag): not for this connection.
    }
  }

  /** How the browsers are connected: through a TURN relay or directly; null when unknown. */
  async route(): Promise<PeerRoute | null> {
    try {
      const stats = await this.#pc.getStats();
      let pairId: string | undefined;
      stats.forEach((report) => {
        if (report.type === "transport" && report.selectedCandidatePairId) {
          pairId = report.selectedCandidatePairId;
        }
      });
      let localId: string | undefined;
      stats.forEach((report) => {
        if (report.type !== "candidate-pair") return;
        if (pairId ? report.id === pairId : report.nominated && report.state === "succeeded") {
          localId = report.localCandidateId;
        }
      });
      if (!localId) return null;
      const local = stats.get(localId);
      return local?.candidateType === "relay" ? "turn" : "direct";
    } catch {
      return null;
    }
  }

  /**
   * The DTLS certificate fingerprints of both ends as this browser saw them in
   * the handshake: the `certificate` stats the selected transport points at
   * (what DTLS actually used, not the SDP text, which the server relays).
   * Null when the stats do not have them.
   */
  async fingerprints(): Promise<{ local: string; remote: string } | null> {
    try {
      const stats = await this.#pc.getStats();
      let local: string | undefined;
      let remote: string | undefined;
      stats.forEach((report) => {
        if (report.type !== "transport" || report.dtlsState !== "connected") return;
        local = report.localCertificateId;
        remote = report.remoteCertificateId;
      });
      const print = (id: string | undefined) => {
        const certificate = id ? stats.get(id) : undefined;
        return certificate?.fingerprint
          ? `${certificate.fingerprintAlgorithm ?? "sha-256"} ${certificate.fingerprint}`
          : null;
      };
      const localPrint = print(local);
      const remotePrint = print(remote);
      return localPrint && remotePrint ? { local: localPrint, remote: remotePrint } : null;
    } catch {
      return null;
    }
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Ends the connection (no more callbacks). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#channel?.close();
    } catch { /* closing */ }
    this.#pc.close();
  }

  async #remoteReady(): Promise<void> {
    this.#remoteSet = true;
    const pending = this.#pending.splice(0);
    for (const candidate of pending) await this.addCandidate(candidate);
  }

  #adopt(channel: RTCDataChannel): void {
    this.#channel = channel;
    channel.binaryType = "arraybuffer";
    const open = () => {
      if (this.#opened || this.#closed) return;
      this.#opened = true;
      this.#options.onOpen(channel);
    };
    if (channel.readyState === "open") open();
    else channel.addEventListener("open", open, { once: true });
  }

  #fail(reason: string): void {
    if (this.#closed) return;
    this.close();
    this.#options.onFailed(reason);
  }
}
