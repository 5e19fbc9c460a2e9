/**
 * Everything a live transfer asks of the world, as one interface the
 * controllers get injected: the server's API, signaling, WebRTC, and the relay
 * (link mode). The browser's real ones are {@linkcode BROWSER_SERVICES}; unit
 * tests pass in-memory ones (`_fake_services.ts`).
 */
import * as linkClient from "../link_client/mod.ts";
// Types only: the server's schemas stay out of the browser bundle.
import type { IceCandidate, SessionDescription } from "../transfer/signaling.ts";
import * as api from "./api.ts";
import type { DataChannelLike } from "./channel.ts";
import type { Fingerprints } from "./pairing/mod.ts";
import { PeerLink, type PeerLinkOptions, type PeerRoute } from "./peer.ts";
import { openSignaling, type SignalingOptions, type SignalingSession } from "./signaling.ts";

/** The connection to the other browser as a controller uses it ({@linkcode PeerLink}, a fake). */
export interface PeerConnector {
  /** The sender's first step: the data channel and the offer. */
  start(): Promise<void>;
  /** The receiver answers an offer, echoing its attempt id. */
  acceptOffer(offer: SessionDescription, attempt?: string): Promise<void>;
  /** The sender takes an answer, unless it answers another attempt's offer. */
  acceptAnswer(answer: SessionDescription, attempt?: string): Promise<void>;
  addCandidate(candidate: IceCandidate): Promise<void>;
  /** How the browsers are connected; null when unknown. */
  route(): Promise<PeerRoute | null>;
  /** The DTLS certificate fingerprints this browser saw in the handshake; null when unknown. */
  fingerprints(): Promise<Fingerprints | null>;
  close(): void;
}

/** What `openPeer` takes: a data channel is all the protocol needs from the connection. */
export interface PeerConnectorOptions extends Omit<PeerLinkOptions, "onOpen"> {
  onOpen(channel: DataChannelLike): void;
}

/** Everything a live transfer asks of the world. */
export interface LiveTransferServices {
  createTransfer(files: api.AnnouncedFile[]): Promise<api.CreatedTransfer>;
  joinTransfer(code: string): Promise<api.JoinedTransfer>;
  fetchIceServers(session: { code: string; token: string }): Promise<api.IceServerList>;
  openSignaling(options: SignalingOptions): SignalingSession;
  openPeer(options: PeerConnectorOptions): PeerConnector;
  uploadFile(file: Blob, options: linkClient.UploadOptions): Promise<linkClient.UploadedFile>;
  downloadFile(
    id: string,
    options: linkClient.DownloadOptions,
  ): Promise<linkClient.DownloadedFile>;
  getFileInfo(id: string, options: linkClient.DownloadOptions): Promise<linkClient.FileInfo>;
  deleteFile(id: string, deleteToken: string): Promise<void>;
}

/** The real ones: this server's API, its signaling socket, `RTCPeerConnection`, link mode. */
export const BROWSER_SERVICES: LiveTransferServices = {
  createTransfer: api.createTransfer,
  joinTransfer: api.joinTransfer,
  fetchIceServers: api.fetchIceServers,
  openSignaling,
  openPeer: (options) => new PeerLink(options),
  uploadFile: linkClient.uploadFile,
  downloadFile: linkClient.downloadFile,
  getFileInfo: linkClient.getFileInfo,
  deleteFile: (id, deleteToken) => linkClient.deleteFile(id, deleteToken),
};
