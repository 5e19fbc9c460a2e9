import type { Context } from "hono";
import type { AppContext } from "../lib/context.ts";
import { ApiError } from "../lib/errors/mod.ts";
import { type TokenClaims, verifyToken } from "../lib/identity/mod.ts";
import { parseCursor, type Position } from "../lib/realtime/mod.ts";
import { eventIdCursor, type EventIdSigner } from "../lib/transport/mod.ts";
import { bearer, requireStreamToken } from "./_auth.ts";
import { type ResumeRequest, resumeRequest } from "./_realtime.ts";

/** Who a stream is for and where it resumes (a time still to find with `resolveResume`). */
export interface AuthorizedStream {
  claims: TokenClaims;
  since: ResumeRequest;
}

/**
 * Authenticates an SSE stream whose events carry signed ids (see
 * `EventIdSigner`). EventSource reconnects by itself with the same URL, whose
 * single-use token is spent by then, and sends the last id as `Last-Event-ID`:
 * when that id's MAC holds for the token's user (the token's signature is
 * checked, its expiry and single use are not; revocation is), the stream
 * resumes after it without a new token. Otherwise this is
 * `requireStreamToken`: a spent token alone still gets 401. `?since=` (a
 * cursor, `all`, a duration or a time: `resumeRequest`) wins over the header, as before.
 */
export async function authorizeResumableStream(
  c: Context,
  ctx: AppContext,
  signer: EventIdSigner,
): Promise<AuthorizedStream> {
  const lastEventId = c.req.header("last-event-id") ?? "";
  const signed = c.req.query("since") === undefined && lastEventId.includes(".");
  if (signed) {
    const resumed = await resumeBySignedId(c, ctx, signer, lastEventId);
    if (resumed) return resumed;
  }
  // A signed id that does not authenticate (another user's, too old, another secret)
  // still says where the client was: a valid token resumes from its cursor.
  const since = signed ? cursorOf(lastEventId) : resumeRequest(c);
  return { claims: await requireStreamToken(c, ctx), since };
}

async function resumeBySignedId(
  c: Context,
  ctx: AppContext,
  signer: EventIdSigner,
  lastEventId: string,
): Promise<AuthorizedStream | null> {
  const token = c.req.query("token") ?? bearer(c);
  const claims = await verifyToken(ctx.secrets.secret, token, { allowExpired: true })
    .catch(() => null);
  if (!claims) return null;
  const check = signer.verify(claims.sub, lastEventId);
  if (!check.ok) return null;
  await ctx.tokens.assertNotRevoked(claims);
  return { claims, since: parseCursor(check.cursor) };
}

function cursorOf(lastEventId: string): Position {
  const position = parseCursor(eventIdCursor(lastEventId));
  if (!position) {
    throw new ApiError("invalid_cursor", `"${lastEventId.slice(0, 40)}" is not a cursor`);
  }
  return position;
}
