/**
 * The signaling protocol of a transfer session: the frames each role may send,
 * the topics each direction travels on, and what the server sends back. SDP and
 * ICE candidates are checked for shape and size only, never interpreted.
 */
import { z } from "zod";
import type { FrameSchemas } from "../transport/mod.ts";
import type { TransferRole } from "./record.ts";

/** Longest SDP accepted, in characters (browsers' offers are a few KiB). */
export const MAX_SDP_CHARS = 32 * 1024;
/** Longest ICE candidate line accepted, in characters. */
export const MAX_CANDIDATE_CHARS = 2 * 1024;
/** Longest cancel reason, in characters. */
export const MAX_REASON_CHARS = 200;
/** Longest fallback link, in characters. */
const MAX_URL_CHARS = 2048;
/**
 * Longest sealed file list (`sealed-files`), in characters: the announced list's
 * cap with room for encryption and base64url.
 */
export const MAX_SEALED_CHARS = 32 * 1024;

/** An `RTCSessionDescriptionInit` (or a bare SDP string), size-capped. */
export const sessionDescriptionSchema = z.union([
  z.string().max(MAX_SDP_CHARS),
  z.object({
    type: z.enum(["offer", "answer", "pranswer", "rollback"]),
    sdp: z.string().max(MAX_SDP_CHARS).optional(),
  }).strict(),
]);

/** A session description as the signaling protocol carries it. */
export type SessionDescription = z.infer<typeof sessionDescriptionSchema>;

/** An `RTCIceCandidateInit` (or a bare candidate line), size-capped. */
export const iceCandidateSchema = z.union([
  z.string().max(MAX_CANDIDATE_CHARS),
  z.object({
    candidate: z.string().max(MAX_CANDIDATE_CHARS),
    sdpMid: z.string().max(64).nullable().optional(),
    sdpMLineIndex: z.number().int().min(0).max(1023).nullable().optional(),
    usernameFragment: z.string().max(256).nullable().optional(),
  }).strict(),
]);

/** An ICE candidate as the signaling protocol carries it. */
export type IceCandidate = z.infer<typeof iceCandidateSchema>;

const httpUrl = z.url({ protocol: /^https?$/ }).max(MAX_URL_CHARS);

/** A P-256 public key (65-byte uncompressed point), base64url. */
const publicKeySchema = z.string().regex(/^[A-Za-z0-9_-]{87}$/);
/** A key-confirmation code (HMAC-SHA-256), base64url. */
const confirmationSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

/**
 * Which connection attempt an offer belongs to (the sender's choice, random), echoed
 * in the answer to it: a sender ignores answers to its earlier offers (a reloaded
 * receiver answers every offer its signaling replays). Optional: frames without it
 * are relayed as before.
 */
export const attemptSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

const clientFrames = {
  offer: z.object({
    type: z.literal("offer"),
    offer: sessionDescriptionSchema,
    attempt: attemptSchema.optional(),
  }).strict(),
  answer: z.object({
    type: z.literal("answer"),
    answer: sessionDescriptionSchema,
    attempt: attemptSchema.optional(),
  }).strict(),
  "ice-candidate": z.object({
    type: z.literal("ice-candidate"),
    candidate: iceCandidateSchema,
  }).strict(),
  ready: z.object({ type: z.literal("ready"), confirm: confirmationSchema.optional() }).strict(),
  cancel: z.object({
    type: z.literal("cancel"),
    reason: z.string().max(MAX_REASON_CHARS).optional(),
  }).strict(),
  "fallback-link": z.object({ type: z.literal("fallback-link"), url: httpUrl }).strict(),
  "pairing-key": z.object({
    type: z.literal("pairing-key"),
    publicKey: publicKeySchema,
    withSecret: z.boolean().optional(),
  }).strict(),
  "sealed-files": z.object({
    type: z.literal("sealed-files"),
    box: z.string().regex(/^[A-Za-z0-9_-]+$/).max(MAX_SEALED_CHARS),
  }).strict(),
};

/** One validated client frame. */
export type SignalingClientFrame = z.infer<(typeof clientFrames)[keyof typeof clientFrames]>;

/** Frames a client may send on the signaling socket (`ping` is answered by the transport). */
export const signalingClientFrames: FrameSchemas<SignalingClientFrame> = clientFrames;

/** Which frame types each role may send. */
export const ALLOWED_FRAMES: Record<TransferRole, ReadonlySet<SignalingClientFrame["type"]>> = {
  creator: new Set([
    "offer",
    "ice-candidate",
    "ready",
    "cancel",
    "fallback-link",
    "pairing-key",
    "sealed-files",
  ]),
  joiner: new Set(["answer", "ice-candidate", "ready", "cancel", "pairing-key"]),
};

/** What is stored on a direction's topic and delivered, with a `cursor`, to the other side. */
export type SignalEvent =
  | { type: "offer"; offer: SessionDescription; attempt?: string }
  | { type: "answer"; answer: SessionDescription; attempt?: string }
  | { type: "ice-candidate"; candidate: IceCandidate }
  | { type: "ready"; confirm?: string }
  | { type: "fallback-link"; url: string }
  | { type: "pairing-key"; publicKey: string; withSecret?: boolean }
  | { type: "sealed-files"; box: string }
  | { type: "cancel"; reason: string; by: TransferRole | "server" };

/**
 * Every frame the server sends on a signaling socket: what the other side sent
 * (with the cursor to resume after), the other side coming and going, receipts
 * for stored offers and answers, `pong`, and errors (`too_far_behind` and
 * `epoch_changed` carry the cursor to go on from). Browsers import this type
 * only (`import type`), so no schema code reaches their bundle.
 */
export type SignalingServerFrame =
  | (SignalEvent & { cursor: string })
  | { type: "peer-joined" | "peer-left"; role: TransferRole }
  | { type: "offer-stored"; code: string; offset: number; isolate: string }
  | { type: "answer-stored"; offset: number; isolate: string }
  | { type: "pong" }
  | { type: "error"; code: string; message: string; cursor?: string };

/** The other role. */
export function peerRole(role: TransferRole): TransferRole {
  return role === "creator" ? "joiner" : "creator";
}

/** The topic carrying what the sender sends to the receiver. */
export function toReceiverTopic(transferId: string): string {
  return `transfer:${transferId}:to-receiver`;
}

/** The topic carrying what the receiver sends to the sender. */
export function toSenderTopic(transferId: string): string {
  return `transfer:${transferId}:to-sender`;
}

/** The topic a role reads (its inbound direction). */
export function inboundTopic(transferId: string, role: TransferRole): string {
  return role === "creator" ? toSenderTopic(transferId) : toReceiverTopic(transferId);
}

/** The topic a role writes (the other side's inbound direction). */
export function outboundTopic(transferId: string, role: TransferRole): string {
  return inboundTopic(transferId, peerRole(role));
}

/** The presence scope of a session: members are roles, one per connected side. */
export function presenceScope(transferId: string): string {
  return `transfer:${transferId}`;
}

/** The event a client frame becomes on the outbound topic, or null for `cancel`. */
export function signalEventOf(frame: SignalingClientFrame): SignalEvent | null {
  switch (frame.type) {
    case "offer":
    case "answer":
      // Strict schemas: nothing but the type, the description and the attempt is in it.
      return frame;
    case "ice-candidate":
      return { type: "ice-candidate", candidate: frame.candidate };
    case "ready":
      return frame.confirm ? { type: "ready", confirm: frame.confirm } : { type: "ready" };
    case "fallback-link":
      return { type: "fallback-link", url: frame.url };
    case "pairing-key":
      return frame.withSecret === undefined
        ? { type: "pairing-key", publicKey: frame.publicKey }
        : { type: "pairing-key", publicKey: frame.publicKey, withSecret: frame.withSecret };
    case "sealed-files":
      return { type: "sealed-files", box: frame.box };
    case "cancel":
      return null;
  }
}
