/** Who is online in a channel, with listings shared by the callers that overlap. */
import type { PresenceMember } from "../presence/mod.ts";

/**
 * Lists a channel's members with `list`. Calls that arrive while a listing runs
 * share the next one (which starts after they arrived, so it includes whatever
 * they did before): a reconnect storm of N clients costs a few listings, not N.
 */
export class Roster {
  #list: (channelId: string) => Promise<PresenceMember[]>;
  #channels = new Map<string, { queued: Promise<PresenceMember[]> | null; last: Promise<void> }>();

  constructor(list: (channelId: string) => Promise<PresenceMember[]>) {
    this.#list = list;
  }

  /** The members of `channelId`, from a listing that started after this call. */
  members(channelId: string): Promise<PresenceMember[]> {
    let roster = this.#channels.get(channelId);
    if (!roster) this.#channels.set(channelId, roster = { queued: null, last: Promise.resolve() });
    if (roster.queued) return roster.queued;
    const state = roster;
    const queued = state.last.then(() => {
      state.queued = null;
      return this.#list(channelId);
    });
    state.queued = queued;
    // Only orders the listings: the callers awaiting `queued` get its error.
    const settled = queued.then(() => {}, () => {});
    state.last = settled;
    void settled.then(() => {
      if (state.last === settled && !state.queued) this.#channels.delete(channelId);
    });
    return queued;
  }
}
