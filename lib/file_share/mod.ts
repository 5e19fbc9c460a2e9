/**
 * @module
 * Live file share in the browser: the file-share protocol over an
 * `RTCDataChannel` (manifest, chunks with backpressure, per-file SHA-256
 * verified on arrival, completion acknowledged), incremental SHA-256, sinks
 * that never hold a file as one buffer, the WebRTC connection, and the two
 * sides' controllers the `/share` and `/r/:code` pages render (one base,
 * {@linkcode LiveTransfer}, with the world injected as
 * {@linkcode LiveTransferServices}). Browser-safe;
 * the protocol parts also run in Deno (unit tests use in-memory channels).
 *
 * @example
 * ```ts
 * import { BlobSink, FileReceiver, FileSender } from "./mod.ts";
 *
 * // Each side's open RTCDataChannel (see PeerLink).
 * declare const sending: RTCDataChannel, receiving: RTCDataChannel;
 * const file = new File(["hello"], "hello.txt", { type: "text/plain" });
 * const sender = new FileSender(sending, [{ blob: file, name: file.name }]);
 * const receiver = new FileReceiver(receiving, { openSink: (f) => new BlobSink(f.type) });
 * await Promise.all([sender.run(), receiver.done]);
 * ```
 */
export { Sha256, sha256OfBlob, toHex } from "./sha256.ts";
export {
  type CancelMessage,
  type CompleteMessage,
  type ControlMessage,
  type DoneMessage,
  encodeControlMessage,
  type FileEndMessage,
  type FileFailedMessage,
  type FileStartMessage,
  type FileVerifiedMessage,
  type ManifestFile,
  type ManifestMessage,
  MAX_CHUNK_BYTES,
  MAX_CONTROL_CHARS,
  MAX_FILES,
  MIN_CHUNK_BYTES,
  parseControlMessage,
  PROTOCOL_VERSION,
  ProtocolError,
} from "./messages.ts";
export {
  ChannelClosedError,
  type DataChannelLike,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_HIGH_WATER_BYTES,
  DEFAULT_LOW_WATER_BYTES,
  waitForRoom,
} from "./channel.ts";
export {
  DEFAULT_STORED_WINDOW_BYTES,
  FileSender,
  type FileSenderOptions,
  type OutgoingFile,
  type SendResult,
} from "./sender.ts";
export {
  FileReceiver,
  type FileReceiverOptions,
  type PartialFile,
  type ReceivedFile,
  type ReceiveProgress,
} from "./receiver.ts";
export {
  BlobSink,
  DEFAULT_PART_BYTES,
  type FileSink,
  type SavedFile,
  type WritableFileLike,
  WritableSink,
} from "./sinks.ts";
export { TransferCanceledError } from "./errors.ts";
export { formatEta, formatSpeed, RateMeter, type RateMeterOptions } from "./meter.ts";
export {
  type FallbackLink,
  fallbackLinkUrl,
  isSnippet,
  MAX_SNIPPET_CHARS,
  parseFallbackLink,
  safeFileName,
  safeFileType,
  SNIPPET_NAME,
  SNIPPET_TYPE,
  snippetFile,
} from "./files.ts";
export {
  type AnnouncedFile,
  type CreatedTransfer,
  createTransfer,
  fetchIceServers,
  type IceServerList,
  type JoinedTransfer,
  joinTransfer,
} from "./api.ts";
export {
  openSignaling,
  type SignalingFrame,
  type SignalingOptions,
  type SignalingSession,
} from "./signaling.ts";
export {
  CHANNEL_LABEL,
  PeerLink,
  type PeerLinkOptions,
  type PeerRoute,
  type PeerSignal,
} from "./peer.ts";
export { type QrPath, qrPath } from "./qr.ts";
export {
  emptyView,
  type FileStatus,
  type FileView,
  type Phase,
  type Route,
  type TransferView,
} from "./view.ts";
export {
  LiveTransfer,
  type LiveTransferOptions,
  type ProtocolEnd,
  type TransferFailure,
} from "./live_transfer.ts";
export {
  BROWSER_SERVICES,
  type LiveTransferServices,
  type PeerConnector,
  type PeerConnectorOptions,
} from "./services.ts";
export {
  LiveSender,
  type LiveSenderOptions,
  readStoredSend,
  SENDER_STORAGE_KEY,
  type SenderView,
  type StoredSenderSession,
} from "./live_sender.ts";
export {
  type FolderLike,
  LiveReceiver,
  type LiveReceiverOptions,
  readStoredSession,
  type ReceiverView,
  storageKey,
  type StoredReceivedFile,
  type StoredReceiverSession,
} from "./live_receiver.ts";
