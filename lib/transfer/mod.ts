/**
 * @module
 * Live transfer sessions: single-join codes, sender and receiver tokens, the
 * `created → joined → closed | expired` lifecycle in Deno KV with a sweeper,
 * the signaling relay over the realtime core (one topic per direction, so what
 * a peer sends while the other is away is delivered in order when it comes
 * back), and ICE server lists with STUN and TURN credentials. A
 * {@linkcode TransferService} owns one isolate's share of it.
 *
 * @example
 * ```ts
 * import { KvTransferStore } from "./mod.ts";
 *
 * const store = new KvTransferStore(await Deno.openKv(":memory:"));
 * const { record, senderToken } = await store.create({
 *   files: [{ name: "a.txt", size: 3, type: "text/plain" }],
 * });
 * const { receiverToken } = await store.join(record.code.toLowerCase());
 * await store.join(record.code); // throws TransferError "session_already_joined" (409)
 * ```
 */
export { CODE_ALPHABET, CODE_LENGTH, CODE_SPACE, generateCode, normalizeCode } from "./code.ts";
export { TransferError, type TransferErrorCode } from "./errors.ts";
export {
  effectiveState,
  type FileInfo,
  fileInfoSchema,
  fileListSchema,
  isLive,
  joinedExpiry,
  type LifetimePolicy,
  MAX_FILES,
  TRANSFER_STATES,
  type TransferRecord,
  type TransferRole,
  type TransferState,
} from "./record.ts";
export { hashTransferToken, newTransferToken, tokenMatches, transferTokenRole } from "./token.ts";
export {
  type ClosedTransfer,
  type CreatedTransfer,
  type CreateOptions,
  type JoinedTransfer,
  KvTransferStore,
  type SweepReport,
  type TransferStore,
  type TransferStoreOptions,
} from "./store.ts";
export { SessionKeeper, type SessionKeeperOptions } from "./keeper.ts";
export { countTransfersByState } from "./states.ts";
export { type TransferCore, TransferService, type TransferServiceOptions } from "./service.ts";
export {
  ALLOWED_FRAMES,
  type IceCandidate,
  iceCandidateSchema,
  inboundTopic,
  MAX_CANDIDATE_CHARS,
  MAX_REASON_CHARS,
  MAX_SDP_CHARS,
  outboundTopic,
  peerRole,
  presenceScope,
  type SessionDescription,
  sessionDescriptionSchema,
  type SignalEvent,
  signalEventOf,
  type SignalingClientFrame,
  signalingClientFrames,
  type SignalingServerFrame,
  toReceiverTopic,
  toSenderTopic,
} from "./signaling.ts";
export {
  announceEnded,
  type RelayDependencies,
  type RelayHandlers,
  relayHandlers,
  type RelaySession,
  signalFrame,
} from "./relay.ts";
export {
  hmacTurnCredentials,
  type IceServer,
  type IceServerList,
  IceServerProvider,
  type IceServerProviderOptions,
  type IceSettings,
  type TurnSource,
  turnSource,
} from "./ice.ts";
