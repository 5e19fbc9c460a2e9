/**
 * Example `data` for every built-in notification type: the demo page's publish
 * form starts from these, the docs show them, and a unit test checks each one
 * against the registry. Browser-safe (no zod), so islands import it.
 */
import { safeLinkTarget, STAND_IN_ORIGIN } from "./links.ts";

export const NOTIFICATION_EXAMPLES: Record<string, Record<string, unknown>> = {
  "group.invitation.received": {
    groupId: "g_design",
    groupName: "Design team",
    invitationId: "inv_42",
    invitedBy: { userId: "grace", name: "Grace" },
    message: "Join us for the launch review",
  },
  "group.invitation.accepted": {
    groupId: "g_design",
    groupName: "Design team",
    invitationId: "inv_42",
    acceptedBy: { userId: "linus", name: "Linus" },
  },
  "group.member.joined": {
    groupId: "g_design",
    groupName: "Design team",
    member: { userId: "linus", name: "Linus" },
  },
  "group.member.removed": {
    groupId: "g_design",
    groupName: "Design team",
    member: { userId: "mallory", name: "Mallory" },
    removedBy: { userId: "grace", name: "Grace" },
  },
  "group.admin.granted": {
    groupId: "g_design",
    groupName: "Design team",
    member: { userId: "linus", name: "Linus" },
    grantedBy: { userId: "grace", name: "Grace" },
  },
  "group.admin.revoked": {
    groupId: "g_design",
    groupName: "Design team",
    member: { userId: "linus", name: "Linus" },
  },
  "group.join_request.created": {
    groupId: "g_design",
    groupName: "Design team",
    requestId: "req_7",
    requester: { userId: "ken", name: "Ken" },
    message: "I'd like to help with icons",
  },
  "group.join_request.approved": {
    groupId: "g_design",
    groupName: "Design team",
    requestId: "req_7",
    approvedBy: { userId: "grace", name: "Grace" },
  },
  "group.join_request.rejected": {
    groupId: "g_design",
    groupName: "Design team",
    requestId: "req_7",
    reason: "The team is full for now",
  },
  shards_generated: { fileId: "f_91", fileName: "backup.tar", shardCount: 5, threshold: 3 },
  file_uploaded: {
    fileId: "f_91",
    fileName: "report.pdf",
    size: 482133,
    mimeType: "application/pdf",
    link: "/share",
  },
  campaign_created: { campaignId: "c_spring", name: "Spring launch", link: "/" },
  success: { title: "Build finished", message: "main is green: 214 tests passed" },
  error: { title: "Payment failed", message: "The card was declined", code: "card_declined" },
  message: { message: "Backup done", title: "nas01", tags: ["floppy_disk"], priority: 3 },
};

/** A one-line human summary of a notification, for toasts and lists. */
export function describeNotification(type: string, data: Record<string, unknown>): {
  title: string;
  body: string;
} {
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  const who = (value: unknown) => {
    if (typeof value !== "object" || value === null) return "Someone";
    const person = value as { name?: unknown; userId?: unknown };
    return text(person.name) || text(person.userId) || "Someone";
  };
  const group = text(data.groupName) || "a group";
  switch (type) {
    case "group.invitation.received":
      return { title: `Invitation to ${group}`, body: `${who(data.invitedBy)} invited you` };
    case "group.invitation.accepted":
      return { title: `${who(data.acceptedBy)} joined ${group}`, body: "Invitation accepted" };
    case "group.member.joined":
      return { title: `New member in ${group}`, body: `${who(data.member)} joined` };
    case "group.member.removed":
      return { title: `Member removed from ${group}`, body: `${who(data.member)} was removed` };
    case "group.admin.granted":
      return { title: `New admin in ${group}`, body: `${who(data.member)} is now an admin` };
    case "group.admin.revoked":
      return { title: `Admin removed in ${group}`, body: `${who(data.member)} is no longer admin` };
    case "group.join_request.created":
      return { title: `Join request for ${group}`, body: `${who(data.requester)} asks to join` };
    case "group.join_request.approved":
      return { title: `Welcome to ${group}`, body: "Your join request was approved" };
    case "group.join_request.rejected":
      return {
        title: `Request for ${group} declined`,
        body: text(data.reason) || "Your join request was rejected",
      };
    case "shards_generated":
      return {
        title: "Shards ready",
        body: `${text(data.fileName) || text(data.fileId)}: ${String(data.shardCount)} shards`,
      };
    case "file_uploaded":
      return { title: "File uploaded", body: text(data.fileName) };
    case "campaign_created":
      return { title: "Campaign created", body: text(data.name) };
    case "success":
      return { title: text(data.title) || "Done", body: text(data.message) };
    case "error":
      return { title: text(data.title) || "Something went wrong", body: text(data.message) };
    case "message":
      return { title: text(data.title) || "Message", body: text(data.message) };
    default:
      return {
        title: type,
        body: text(data.message) || text(data.title) || JSON.stringify(data).slice(0, 120),
      };
  }
}

/** "just now", "4 min ago", "3 h ago", or a date: how lists show a notification's time. */
export function timeAgo(timestamp: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(timestamp)) / 1000));
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(timestamp).toLocaleDateString("en");
}

/**
 * The notification's `link` when it is safe to render as an anchor on a page of
 * `pageOrigin` (see {@linkcode safeLinkTarget}: an http(s) URL, or a relative
 * link that stays on the page's origin), else null. Registered types are
 * validated on publish; types added by configuration take any data, so the bell
 * checks again, against its own origin.
 *
 * @param pageOrigin The origin of the page that shows the link (the bell passes
 * `location.origin`); default {@linkcode STAND_IN_ORIGIN}, which checks that a
 * relative link stays on whatever site renders it.
 */
export function safeLink(
  data: Record<string, unknown>,
  pageOrigin: string = STAND_IN_ORIGIN,
): string | null {
  return safeLinkTarget(data.link, pageOrigin);
}
