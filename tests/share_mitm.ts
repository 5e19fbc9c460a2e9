/**
 * @module
 * An active man in the middle of a live transfer, for tests/e2e_share_mitm_test.ts:
 * what a hostile signaling server could do. The test rewrites both pages'
 * signaling sockets (Playwright `routeWebSocket`) so that the sender's offer
 * is answered by a third Chromium page with its own `RTCPeerConnection` (its
 * own DTLS certificate), which opens its own connection to the receiver and
 * relays every data-channel message between the two. Optionally
 * (`substituteKeys`) it also does both ECDH exchanges itself, as
 * {@linkcode PairingSession}s of its own: it swaps the public keys, opens and
 * re-seals the file list, and replaces every key-confirmation code (in `ready`
 * and the first message on each data channel) with its own, computed over the
 * DTLS fingerprints its own connections saw.
 *
 * Candidates are not trickled through: the middle page gathers its candidates
 * into its descriptions and takes each page's trickled candidates itself.
 * Channel closes are not passed on (a middle that keeps quiet).
 */
import type { Page, WebSocketRoute } from "playwright-core";
import {
  confirmMessage,
  type Fingerprints,
  PairingSession,
} from "../lib/file_share/pairing/mod.ts";

/** Options of {@linkcode startMitm}. */
export interface MitmOptions {
  /** Do both key exchanges itself (true) or pass the pages' keys and codes through (false). */
  substituteKeys: boolean;
}

/** What the middle saw. */
export interface Mitm {
  /** File names it read from the sealed file list (only when it substituted keys). */
  readonly fileNamesRead: string[];
  /** Data-channel messages it relayed each way, binary ones (file bytes) counted apart. */
  relayed(): Promise<{ fromSender: MessageCount; fromReceiver: MessageCount }>;
}

/** Messages relayed one way. */
export interface MessageCount {
  text: number;
  binary: number;
}

interface MitmPage {
  onSenderOffer(sdp: string): Promise<string>;
  onReceiverAnswer(sdp: string): Promise<string>;
  addCandidate(side: "sender" | "receiver", candidate: RTCIceCandidateInit): Promise<void>;
  counts: { fromSender: MessageCount; fromReceiver: MessageCount };
}

interface Scope {
  mitm: MitmPage;
  mitmConfirm: ConfirmRewriter;
}

type ConfirmRewriter = (
  toward: "sender" | "receiver",
  message: string,
  fingerprints: Fingerprints | null,
) => Promise<string>;

/** Runs in the middle page: two peer connections and the relay between their channels. */
function installMiddle(): void {
  const scope = globalThis as unknown as Scope;
  const gathered = (pc: RTCPeerConnection) =>
    new Promise<void>((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") resolve();
      });
    });
  // The same reading of getStats() as the pages' PeerLink.fingerprints().
  const fingerprints = async (pc: RTCPeerConnection): Promise<Fingerprints | null> => {
    const stats = await pc.getStats();
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
  };
  const opened = (channel: RTCDataChannel) =>
    new Promise<void>((resolve) => {
      if (channel.readyState === "open") resolve();
      else channel.addEventListener("open", () => resolve(), { once: true });
    });
  const withSender = new RTCPeerConnection();
  const withReceiver = new RTCPeerConnection();
  const toReceiver = withReceiver.createDataChannel("switchboard-files", { ordered: true });
  const counts = {
    fromSender: { text: 0, binary: 0 },
    fromReceiver: { text: 0, binary: 0 },
  };
  const relay = (
    from: RTCDataChannel,
    to: RTCDataChannel,
    toward: "sender" | "receiver",
    via: RTCPeerConnection,
  ) => {
    from.binaryType = "arraybuffer";
    const count = toward === "receiver" ? counts.fromSender : counts.fromReceiver;
    let chain = opened(to);
    let first = true;
    from.addEventListener("message", (event: MessageEvent) => {
      const data = event.data as string | ArrayBuffer;
      const confirmation = first && typeof data === "string";
      first = false;
      if (typeof data === "string") count.text++;
      else count.binary++;
      chain = chain.then(async () => {
        to.send(
          confirmation
            ? await scope.mitmConfirm(toward, data as string, await fingerprints(via))
            : data as string,
        );
      });
    });
  };
  withSender.ondatachannel = (event) => {
    relay(event.channel, toReceiver, "receiver", withReceiver);
    relay(toReceiver, event.channel, "sender", withSender);
  };
  const pendingReceiver: RTCIceCandidateInit[] = [];
  scope.mitm = {
    counts,
    async onSenderOffer(sdp) {
      await withSender.setRemoteDescription({ type: "offer", sdp });
      await withSender.setLocalDescription(await withSender.createAnswer());
      await withReceiver.setLocalDescription(await withReceiver.createOffer());
      await Promise.all([gathered(withSender), gathered(withReceiver)]);
      return withReceiver.localDescription!.sdp;
    },
    async onReceiverAnswer(sdp) {
      await withReceiver.setRemoteDescription({ type: "answer", sdp });
      for (const candidate of pendingReceiver.splice(0)) {
        await withReceiver.addIceCandidate(candidate);
      }
      return withSender.localDescription!.sdp;
    },
    async addCandidate(side, candidate) {
      if (side === "receiver" && !withReceiver.remoteDescription) {
        pendingReceiver.push(candidate);
        return;
      }
      await (side === "sender" ? withSender : withReceiver).addIceCandidate(candidate).catch(
        () => {},
      );
    },
  };
}

/** A client frame as the pages send it (only the fields the middle touches). */
interface ClientFrame {
  type: string;
  publicKey?: string;
  withSecret?: boolean;
  box?: string;
  confirm?: string;
  offer?: { sdp: string };
  answer?: { sdp: string };
  /** The offer's attempt id (echoed in the answer to it). */
  attempt?: string;
  candidate?: RTCIceCandidateInit;
}

/**
 * Puts `middle` (a fresh page of the server's origin) between `sender` and
 * `receiver`. Call before either page opens its signaling socket.
 */
export async function startMitm(
  middle: Page,
  pages: { sender: Page; receiver: Page },
  options: MitmOptions,
): Promise<Mitm> {
  // The middle's own halves: a receiver toward the sender, a sender toward the receiver.
  const towardSender = await PairingSession.create("receiver", { secret: null });
  const towardReceiver = await PairingSession.create("sender", { secret: null });
  const fileNamesRead: string[] = [];
  const rewriteConfirm: ConfirmRewriter = async (toward, message, fingerprints) => {
    if (!options.substituteKeys) return message;
    const own = toward === "receiver" ? towardReceiver : towardSender;
    return confirmMessage(await own.confirmation(fingerprints));
  };
  await middle.exposeFunction("mitmConfirm", rewriteConfirm);
  await middle.evaluate(installMiddle);
  const inMiddle = {
    senderOffer: (sdp: string) =>
      middle.evaluate((sdp) => (globalThis as unknown as Scope).mitm.onSenderOffer(sdp), sdp),
    receiverAnswer: (sdp: string) =>
      middle.evaluate((sdp) => (globalThis as unknown as Scope).mitm.onReceiverAnswer(sdp), sdp),
    candidate: (side: "sender" | "receiver", candidate: RTCIceCandidateInit) =>
      middle.evaluate(
        ([side, candidate]) => (globalThis as unknown as Scope).mitm.addCandidate(side, candidate),
        [side, candidate] as const,
      ),
  };

  /** The sender's frames: its offer goes to the middle, its keys and list are swapped. */
  const fromSender = async (frame: ClientFrame): Promise<ClientFrame | null> => {
    switch (frame.type) {
      case "offer": {
        const sdp = await inMiddle.senderOffer(frame.offer!.sdp);
        // The attempt id passes on, as a middle copying the frame would do.
        return { ...frame, offer: { type: "offer", sdp } as { sdp: string } };
      }
      case "ice-candidate":
        await inMiddle.candidate("sender", frame.candidate!);
        return null;
      case "pairing-key":
        if (!options.substituteKeys) return frame;
        await towardSender.pair(frame.publicKey!, { withSecret: false });
        return { ...frame, publicKey: towardReceiver.publicKey };
      case "sealed-files": {
        if (!options.substituteKeys) return frame;
        const files = await towardSender.open(frame.box!, "files") as { name: string }[];
        fileNamesRead.push(...files.map((file) => file.name));
        return { ...frame, box: await towardReceiver.seal(files, "files") };
      }
      default:
        return frame;
    }
  };

  /** The receiver's frames: its answer goes to the middle, its key and codes are swapped. */
  const fromReceiver = async (frame: ClientFrame): Promise<ClientFrame | null> => {
    switch (frame.type) {
      case "answer": {
        const sdp = await inMiddle.receiverAnswer(frame.answer!.sdp);
        return { ...frame, answer: { type: "answer", sdp } as { sdp: string } };
      }
      case "ice-candidate":
        await inMiddle.candidate("receiver", frame.candidate!);
        return null;
      case "pairing-key":
        if (!options.substituteKeys) return frame;
        // Without the link's secret, the middle can only claim the receiver has none.
        await towardReceiver.pair(frame.publicKey!, { withSecret: false });
        return { type: "pairing-key", publicKey: towardSender.publicKey, withSecret: false };
      case "ready":
        if (!options.substituteKeys) return frame;
        return { type: "ready", confirm: await towardSender.confirmation(null) };
      default:
        return frame;
    }
  };

  const intercept =
    (rewrite: (frame: ClientFrame) => Promise<ClientFrame | null>) => (socket: WebSocketRoute) => {
      const server = socket.connectToServer();
      server.onMessage((message) => socket.send(message));
      // One frame at a time, in order, however long a rewrite takes.
      let chain = Promise.resolve();
      socket.onMessage((message) => {
        chain = chain.then(async () => {
          const frame = JSON.parse(String(message)) as ClientFrame;
          const out = await rewrite(frame);
          if (out) server.send(JSON.stringify(out));
        }).catch((error) => console.error("mitm:", error));
      });
    };
  await pages.sender.routeWebSocket(/file-share-session/, intercept(fromSender));
  await pages.receiver.routeWebSocket(/file-share-session/, intercept(fromReceiver));
  return {
    fileNamesRead,
    relayed: () => middle.evaluate(() => (globalThis as unknown as Scope).mitm.counts),
  };
}
