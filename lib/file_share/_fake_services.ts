/**
 * For unit tests only: an in-memory world for `LiveSender` and `LiveReceiver`
 * ({@linkcode LiveTransferServices}): one transfer session, a signaling relay
 * that stores what each side sends and delivers it in order with cursors (also
 * to a side that connects later) and tells each side when the other comes and
 * goes, WebRTC connections that open a pair of {@linkcode FakeChannel}s once
 * offer and answer went through signaling, and a link-mode relay in memory.
 */
import { ApiClientError } from "../client/mod.ts";
import type {
  DownloadedFile,
  DownloadOptions,
  FileInfo,
  UploadedFile,
  UploadOptions,
} from "../link_client/mod.ts";
import { encodeBase64Url } from "../text/mod.ts";
import type {
  IceCandidate,
  SessionDescription,
  SignalEvent,
  SignalingClientFrame,
  SignalingServerFrame,
} from "../transfer/signaling.ts";
import type { AnnouncedFile, CreatedTransfer, JoinedTransfer } from "./api.ts";
import type { ClientStatus, StatusDetail } from "../client/mod.ts";
import { type FakeChannel, fakeChannelPair } from "./_fake_channel.ts";
import type { LiveTransferServices, PeerConnector, PeerConnectorOptions } from "./services.ts";
import type { SignalingOptions, SignalingSession } from "./signaling.ts";

type Role = "creator" | "joiner";

const other = (role: Role): Role => role === "creator" ? "joiner" : "creator";

/** One side's signaling socket. */
export class FakeSignaling implements SignalingSession {
  status: ClientStatus = "connecting";
  cursor: string | null;
  readonly role: Role;
  #world: FakeShareWorld;
  #options: SignalingOptions;
  #delivered: number;

  constructor(world: FakeShareWorld, options: SignalingOptions) {
    this.#world = world;
    this.#options = options;
    this.role = options.role;
    this.cursor = options.initialCursor ?? null;
    this.#delivered = options.initialCursor ? Number(options.initialCursor.split("-")[1]) : 0;
    queueMicrotask(() => this.#open());
  }

  #open(): void {
    if (this.status !== "connecting") return;
    this.status = "open";
    this.#options.onStatus?.("open", 0);
    this.#world.arrived(this);
    this.pump();
  }

  /** Delivers what the other side stored after this side's cursor. */
  pump(): void {
    const inbound = this.#world.topic(this.role);
    while (this.status === "open" && this.#delivered < inbound.length) {
      const event = inbound[this.#delivered]!;
      this.#delivered++;
      this.cursor = `fake-${this.#delivered}`;
      this.#options.onFrame({ ...event, cursor: this.cursor });
      // Like the server: a delivered cancel ends the socket (close code 4410).
      if (event.type === "cancel") this.#end("closed");
    }
  }

  /** A frame from the server that is not stored (presence). */
  tell(frame: SignalingServerFrame): void {
    if (this.status === "open") this.#options.onFrame(frame);
  }

  send(frame: SignalingClientFrame): void {
    if (this.status === "closed") return;
    this.#world.sent.push({ role: this.role, frame });
    this.#world.publish(this.role, frame);
  }

  /** The server refuses the socket on (re)connect: its error frame, then a final 4xxx close. */
  refuse(code: number, error: { code: string; message: string }): void {
    if (this.status === "closed") return;
    this.#options.onFrame({ type: "error", ...error });
    this.#end("closed", 0, { code, reason: error.code, error });
  }

  /** The socket keeps failing: as many connect attempts in a row as `failures`. */
  failing(failures: number): void {
    this.#end("reconnecting", failures);
  }

  reconnectNow(): void {
    if (this.status === "closed") return;
    this.status = "connecting";
    queueMicrotask(() => this.#open());
  }

  close(): void {
    this.#end("closed");
  }

  #end(status: ClientStatus, failures = 0, detail?: StatusDetail): void {
    if (this.status === "closed") return;
    const wasOpen = this.status === "open";
    this.status = status;
    if (wasOpen) this.#world.left(this);
    this.#options.onStatus?.(status, failures, detail);
  }
}

/** One side's WebRTC connection. */
export class FakePeer implements PeerConnector {
  closed = false;
  channel: FakeChannel | null = null;
  offer: string | null = null;
  /** The sender's attempt id (sent with its offer). */
  attempt: string | null = null;
  /** The sender took an answer (a browser's `signalingState` left `have-local-offer`). */
  answered = false;
  candidates: IceCandidate[] = [];
  readonly options: PeerConnectorOptions;
  #world: FakeShareWorld;

  constructor(world: FakeShareWorld, options: PeerConnectorOptions) {
    this.#world = world;
    this.options = options;
  }

  start(): Promise<void> {
    this.offer = `offer-${++this.#world.offers}`;
    this.attempt = `attempt-${this.#world.offers}`;
    this.options.signal({
      type: "offer",
      offer: { type: "offer", sdp: this.offer },
      attempt: this.attempt,
    });
    this.options.signal({ type: "ice-candidate", candidate: { candidate: `c-${this.offer}` } });
    if (this.#world.peerMode === "fail") {
      queueMicrotask(() =>
        this.closed ||
        this.options.onFailed("The browsers could not connect directly (ICE failed)")
      );
    }
    return Promise.resolve();
  }

  acceptOffer(offer: SessionDescription, attempt?: string): Promise<void> {
    const sdp = typeof offer === "string" ? offer : offer.sdp ?? "";
    this.offer = sdp;
    this.#world.answering.set(sdp, this);
    const answer = { type: "answer" as const, sdp: `answer-${sdp}` };
    this.options.signal(
      attempt === undefined || this.#world.answersWithoutAttempt
        ? { type: "answer", answer }
        : { type: "answer", answer, attempt },
    );
    return Promise.resolve();
  }

  /**
   * As a browser's: the first answer while an offer is outstanding is taken (one of
   * another attempt's offer, unless its attempt id tells, and then the connection
   * never opens and never reports a failure either).
   */
  acceptAnswer(answer: SessionDescription, attempt?: string): Promise<void> {
    if (this.answered || this.closed) return Promise.resolve();
    if (attempt !== undefined && attempt !== this.attempt) return Promise.resolve();
    this.answered = true;
    const sdp = typeof answer === "string" ? answer : answer.sdp ?? "";
    const answered = sdp.replace(/^answer-/, "");
    if (answered !== this.offer) this.#world.staleAnswersTaken++;
    const joiner = this.#world.answering.get(answered);
    if (
      answered !== this.offer || !joiner || joiner.closed || this.#world.peerMode !== "connect"
    ) {
      return Promise.resolve();
    }
    const [sending, receiving] = fakeChannelPair();
    this.channel = sending;
    joiner.channel = receiving;
    this.#world.channels.push(sending);
    const dropAfter = this.#world.drops > 0 ? this.#world.dropAfterChunks : null;
    if (dropAfter !== null) {
      this.#world.drops--;
      sending.tamper = (_bytes, index) => {
        // In a later task, as a browser reports a dropped connection.
        if (index === dropAfter) setTimeout(() => sending.close(), 0);
      };
    }
    // The receiving side listens before the sending side starts, as in a browser.
    joiner.options.onOpen(receiving);
    this.options.onOpen(sending);
    return Promise.resolve();
  }

  addCandidate(candidate: IceCandidate): Promise<void> {
    this.candidates.push(candidate);
    return Promise.resolve();
  }

  route(): Promise<"direct"> {
    return Promise.resolve("direct");
  }

  fingerprints(): Promise<{ local: string; remote: string }> {
    const sender = "sha-256 5E:4D:E4";
    const receiver = "sha-256 4E:CE:1E";
    const isSender = this.options.role === "creator";
    // A DTLS endpoint in between: each side sees the one in the middle's certificate.
    const remote = this.#world.dtlsInBetween ? "sha-256 BA:D0:00" : isSender ? receiver : sender;
    return Promise.resolve({ local: isSender ? sender : receiver, remote });
  }

  close(): void {
    this.closed = true;
    this.channel?.close();
  }
}

/** A stored relay upload. */
interface RelayFile {
  blob: Blob;
  name: string;
  maxDownloads: number | null;
  downloads: number;
}

/** The in-memory world both sides of one transfer live in. */
export class FakeShareWorld {
  /** `connect` (default): offer and answer open a channel pair; `fail`: ICE fails at once. */
  peerMode: "connect" | "fail" = "connect";
  /** Close the sender's channel after this many binary messages (a connection lost midway). */
  dropAfterChunks: number | null = null;
  /** How many channels `dropAfterChunks` breaks (the later ones stay up). */
  drops = Infinity;
  /** Every frame each side sent on signaling. */
  sent: { role: Role; frame: SignalingClientFrame }[] = [];
  /** The channels opened, sender's ends. */
  channels: FakeChannel[] = [];
  /** Every WebRTC connection either side made. */
  peers: FakePeer[] = [];
  /** Calls of `joinTransfer` (a rejoin from storage makes none). */
  joins = 0;
  /** The relay: file id → upload. */
  relay = new Map<string, RelayFile>();
  /** Refuse joins with this error. */
  joinError: ApiClientError | null = null;
  /**
   * Someone in between on signaling: each `pairing-key` is replaced by a key of
   * theirs before it is stored (they know every public key, not the secret).
   */
  rewritePairingKeys: ((frame: { publicKey: string }) => string) | null = null;
  /** Someone in between on the connection: each side sees another DTLS certificate. */
  dtlsInBetween = false;
  offers = 0;
  answering = new Map<string, FakePeer>();
  /** Receivers answer without the offer's attempt id (a client from before attempt ids). */
  answersWithoutAttempt = false;
  /** Answers to another offer than the sender's current one that a sender took. */
  staleAnswersTaken = 0;
  /**
   * Each offer after the first is followed at once by the receiver's answer to the
   * offer before it, as a reloaded receiver answers the offers its signaling replays.
   */
  replayStaleAnswers = false;
  #files: AnnouncedFile[] = [];
  #joined = false;
  #topics: Record<Role, SignalEvent[]> = { creator: [], joiner: [] };
  #present = new Map<Role, FakeSignaling>();
  #sockets: FakeSignaling[] = [];

  /** The code of the one session. */
  readonly code = "K7QX3M";

  /** The services both sides use. */
  services(): LiveTransferServices {
    return {
      createTransfer: (files) => this.#create(files),
      joinTransfer: (code) => this.#join(code),
      fetchIceServers: () => Promise.resolve({ iceServers: [], ttlSeconds: 60 }),
      openSignaling: (options) => {
        const socket = new FakeSignaling(this, options);
        this.#sockets.push(socket);
        return socket;
      },
      openPeer: (options) => {
        const peer = new FakePeer(this, options);
        this.peers.push(peer);
        return peer;
      },
      uploadFile: (file, options) => this.#upload(file, options),
      downloadFile: (id, options) => this.#download(id, options),
      getFileInfo: (id, options) => this.#info(id, options),
      deleteFile: (id) => {
        this.relay.delete(id);
        return Promise.resolve();
      },
    };
  }

  /** The newest signaling socket of a side. */
  socket(role: Role): FakeSignaling {
    const socket = this.#sockets.findLast((candidate) => candidate.role === role);
    if (!socket) throw new Error(`No ${role} socket`);
    return socket;
  }

  /** The frame types a side sent, in order. */
  sentTypes(role: Role): string[] {
    return this.sent.filter((entry) => entry.role === role).map((entry) => entry.frame.type);
  }

  /** What is stored for `role` to read. */
  topic(role: Role): SignalEvent[] {
    return this.#topics[role];
  }

  publish(from: Role, frame: SignalingClientFrame): void {
    if (frame.type === "cancel") {
      const event: SignalEvent = { type: "cancel", reason: frame.reason ?? "", by: from };
      this.#topics.creator.push(event);
      this.#topics.joiner.push(event);
    } else if (frame.type === "pairing-key" && this.rewritePairingKeys) {
      this.#topics[other(from)].push({ ...frame, publicKey: this.rewritePairingKeys(frame) });
    } else {
      this.#topics[other(from)].push(frame);
    }
    if (this.replayStaleAnswers && from === "creator" && frame.type === "offer") {
      const earlier = this.sent.findLast((entry) =>
        entry.role === "joiner" && entry.frame.type === "answer"
      )?.frame;
      if (earlier?.type === "answer") this.#topics.creator.push(earlier);
    }
    for (const socket of this.#sockets) queueMicrotask(() => socket.pump());
  }

  arrived(socket: FakeSignaling): void {
    this.#present.set(socket.role, socket);
    const peer = this.#present.get(other(socket.role));
    if (!peer) return;
    peer.tell({ type: "peer-joined", role: socket.role });
    socket.tell({ type: "peer-joined", role: peer.role });
  }

  left(socket: FakeSignaling): void {
    if (this.#present.get(socket.role) !== socket) return;
    this.#present.delete(socket.role);
    this.#present.get(other(socket.role))?.tell({ type: "peer-left", role: socket.role });
  }

  #create(files: AnnouncedFile[]): Promise<CreatedTransfer> {
    this.#files = files;
    return Promise.resolve({
      transferId: "01TRANSFER",
      code: this.code,
      senderToken: "ts_sender",
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
      joinUrl: `http://share.test/r/${this.code}`,
    });
  }

  #join(code: string): Promise<JoinedTransfer> {
    this.joins++;
    if (this.joinError) return Promise.reject(this.joinError);
    if (code !== this.code) {
      return Promise.reject(
        new ApiClientError(404, "session_not_found", `No transfer with code "${code}"`),
      );
    }
    if (this.#joined) {
      return Promise.reject(
        new ApiClientError(409, "session_already_joined", "Someone already joined"),
      );
    }
    this.#joined = true;
    return Promise.resolve({
      transferId: "01TRANSFER",
      receiverToken: "tr_receiver",
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
      files: this.#files,
    });
  }

  async #upload(file: Blob, options: UploadOptions): Promise<UploadedFile> {
    // An upload takes a network round trip: a later task, not a microtask.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const id = `f${this.relay.size + 1}`;
    const key = encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)));
    this.relay.set(id, {
      blob: file,
      name: options.name ?? "upload.bin",
      maxDownloads: options.maxDownloads ?? null,
      downloads: 0,
    });
    options.onProgress?.({ phase: "uploading", loaded: file.size, total: file.size });
    return {
      id,
      url: `http://share.test/d/${id}#k=${key}`,
      downloadUrl: `http://share.test/api/download/${id}`,
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
      size: file.size,
      deleteToken: `delete-${id}`,
      encrypted: true,
      key,
    };
  }

  #stored(id: string): RelayFile {
    const stored = this.relay.get(id);
    if (!stored) throw new ApiClientError(404, "not_found", "No such file");
    return stored;
  }

  async #download(id: string, options: DownloadOptions): Promise<DownloadedFile> {
    const stored = this.#stored(id);
    stored.downloads++;
    options.onProgress?.({ loaded: stored.blob.size, total: stored.blob.size });
    return await Promise.resolve({
      blob: stored.blob,
      name: stored.name,
      type: stored.blob.type,
      size: stored.blob.size,
      encrypted: true,
    });
  }

  async #info(id: string, _options: DownloadOptions): Promise<FileInfo> {
    const stored = this.#stored(id);
    return await Promise.resolve({
      id,
      name: stored.name,
      size: stored.blob.size,
      type: stored.blob.type,
      storedSize: stored.blob.size,
      encrypted: true,
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
      downloadsLeft: stored.maxDownloads === null ? null : stored.maxDownloads - stored.downloads,
      downloadUrl: `http://share.test/api/download/${id}`,
      decrypted: false,
    });
  }
}
