/**
 * @module
 * Who may open which channel. Channels are public unless their name starts
 * with the private prefix (`CHAT_PRIVATE_PREFIX`, default `private:`). A
 * private channel opens only for a token that carries a grant for it: the
 * exact channel name, or a prefix pattern ending in `*` (`private:team-*`,
 * or `*` for every channel). Grants are minted by a backend with the API key
 * (`POST /api/tokens` `channels`); guests never carry any. Permissions still
 * decide what a token may do in a channel it can open (`chat:read`,
 * `chat:write`). Browser-safe (no Deno, no zod).
 */
import { CHANNEL_ID_PATTERN } from "./protocol.ts";

/** Grants a token may carry at most. */
export const MAX_CHANNEL_GRANTS = 100;

/**
 * One grant: a channel name (see {@linkcode CHANNEL_ID_PATTERN}), or a prefix of
 * one followed by `*`.
 */
const CHANNEL_GRANT_PATTERN = /^(?:[a-z0-9][a-z0-9_:-]{0,95})?\*$|^[a-z0-9][a-z0-9_:-]{0,96}$/;

/** True for a grant that can be written into a token. */
export function isChannelGrant(grant: string): boolean {
  if (!CHANNEL_GRANT_PATTERN.test(grant)) return false;
  return grant.endsWith("*") || CHANNEL_ID_PATTERN.test(grant);
}

/** True when `grant` covers `channelId`. */
export function grantCovers(grant: string, channelId: string): boolean {
  return grant.endsWith("*") ? channelId.startsWith(grant.slice(0, -1)) : grant === channelId;
}

/** What access needs to know of a token. */
export interface ChannelAccessClaims {
  kind: "user" | "guest" | "stream";
  channels?: string[] | undefined;
}

/** True for a channel that needs a grant. */
export function isPrivateChannel(channelId: string, privatePrefix: string): boolean {
  return privatePrefix !== "" && channelId.startsWith(privatePrefix);
}

/** True when a token may open `channelId`: it is public, or the token holds a grant for it. */
export function canOpenChannel(
  claims: ChannelAccessClaims,
  channelId: string,
  privatePrefix: string,
): boolean {
  if (!isPrivateChannel(channelId, privatePrefix)) return true;
  if (claims.kind === "guest") return false;
  return (claims.channels ?? []).some((grant) => grantCovers(grant, channelId));
}
