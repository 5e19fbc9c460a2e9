/** What the send and receive pages show: one plain object per moment, rendered by the islands. */

/**
 * Where a transfer is. Both sides go `idle → signaling → connecting →
 * connected → transferring → done`, or end `failed` or `canceled`.
 */
export type Phase =
  | "idle"
  | "signaling"
  | "connecting"
  | "connected"
  | "transferring"
  | "done"
  | "failed"
  | "canceled";

/**
 * The path the bytes take: `direct` (peer to peer), `turn` (peer to peer
 * through a TURN relay, still end-to-end encrypted by DTLS) or `relay` (the
 * fallback: an encrypted upload to this server, downloaded by the receiver).
 */
export type Route = "direct" | "turn" | "relay";

/** Where one file is. */
export type FileStatus =
  | "waiting"
  | "encrypting"
  | "active"
  | "verified"
  | "uploaded"
  | "downloaded"
  | "failed";

/** One file of a transfer, as shown. */
export interface FileView {
  index: number;
  name: string;
  size: number;
  type: string;
  /** Bytes moved so far. */
  bytes: number;
  status: FileStatus;
  /** Why it failed. */
  message?: string;
  /** Receiver: a `blob:` URL to save the file from. */
  url?: string;
  /** Receiver: written straight to the folder the person picked. */
  savedToDisk?: boolean;
  /** Receiver: the verified SHA-256. */
  sha256?: string;
  /** Receiver: the text of the snippet. */
  text?: string;
}

/** What a page shows of a transfer. */
export interface TransferView {
  phase: Phase;
  route: Route | null;
  /** Why the relay is used (the fallback's cause). */
  relayReason?: string;
  files: FileView[];
  totalBytes: number;
  /** Bytes moved of all files. */
  bytes: number;
  /** Bytes per second, recent. */
  speed: number;
  /** Seconds left of the whole transfer; null while unknown. */
  secondsLeft: number | null;
  /** The file being moved now, or -1. */
  activeFile: number;
  /** Whether the other side is connected to signaling. */
  peer: "waiting" | "joined" | "left";
  /** A failure or cancel, for people. */
  reason?: string;
  /** A machine-readable failure code (e.g. `session_already_joined`). */
  problem?: string;
  /** Who canceled. */
  canceledBy?: "you" | "peer" | "server";
  /** When bytes started and stopped moving (ms since the epoch). */
  startedAt?: number;
  finishedAt?: number;
  /** The signaling socket is reconnecting. */
  reconnecting?: boolean;
  /** The short authentication string both screens show, once known (connected, or the relay). */
  sas: string[] | null;
  /**
   * The pairing: `verified` (the link's secret proved both pages hold the same
   * keys), `compare` (no secret: the people compare the words), `mismatch`
   * (someone came in between: the transfer stopped), null (not paired yet).
   */
  pairing: PairingState | null;
  /**
   * The pairing is not proven (no secret) and no file byte moves until the
   * sender confirms the words: the sender's page asks "The words match — send",
   * the receiver's says it waits for that.
   */
  awaitingWords?: boolean;
}

/** How far the two pages trust their pairing (see {@linkcode TransferView.pairing}). */
export type PairingState = "verified" | "compare" | "mismatch";

/** A fresh view. */
export function emptyView(): TransferView {
  return {
    phase: "idle",
    route: null,
    files: [],
    totalBytes: 0,
    bytes: 0,
    speed: 0,
    secondsLeft: null,
    activeFile: -1,
    peer: "waiting",
    sas: null,
    pairing: null,
  };
}
