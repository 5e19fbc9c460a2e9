/**
 * The human-readable `message` of every notification frame, rendered by the
 * server from the type and data, so a client that only shows `message` (as the
 * SSE design's clients do) needs no per-type code. Texts follow the design
 * documents ("🎉 24 new shards generated from "file.pdf"! …"). Browser-safe.
 */

const text = (value: unknown): string => (typeof value === "string" ? value.trim() : "");

/** A person's display name: `name`, else `userId`, else "Someone". */
function who(value: unknown): string {
  if (typeof value !== "object" || value === null) return "Someone";
  const person = value as { name?: unknown; userId?: unknown };
  return text(person.name) || text(person.userId) || "Someone";
}

/** "2.4 MB", "470.8 KB", "12 B": the size as the upload message shows it (1 KB = 1024 B). */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}

/**
 * The one-line message of a notification.
 *
 * @example
 * ```ts
 * notificationMessage("file_uploaded", { fileName: "a.pdf", size: 2_516_582 });
 * // "✅ 'a.pdf' has been uploaded successfully (2.4 MB)"
 * ```
 */
export function notificationMessage(type: string, data: Record<string, unknown>): string {
  const group = text(data.groupName) || "a group";
  const person = (field: string) => (data[field] ? who(data[field]) : "");
  switch (type) {
    case "group.invitation.received": {
      const by = person("invitedBy");
      return `You've been invited to ${group}${by ? ` by ${by}` : ""}!`;
    }
    case "group.invitation.accepted":
      return `${who(data.acceptedBy)} accepted the invitation to ${group}`;
    case "group.member.joined":
      return `${who(data.member)} joined ${group}`;
    case "group.member.removed": {
      const member = person("member");
      return member ? `${member} was removed from ${group}` : `You were removed from ${group}`;
    }
    case "group.admin.granted": {
      const member = person("member");
      return member ? `${member} is now an admin of ${group}` : `You're now an admin of ${group}`;
    }
    case "group.admin.revoked": {
      const member = person("member");
      return member
        ? `${member} is no longer an admin of ${group}`
        : `You're no longer an admin of ${group}`;
    }
    case "group.join_request.created":
      return `${who(data.requester)} asked to join ${group}`;
    case "group.join_request.approved":
      return `Your request to join ${group} was approved`;
    case "group.join_request.rejected": {
      const reason = text(data.reason);
      return `Your request to join ${group} was declined${reason ? `: ${reason}` : ""}`;
    }
    case "shards_generated": {
      const count = Number(data.shardCount);
      const shards = `${count} new shard${count === 1 ? "" : "s"}`;
      const file = text(data.fileName) || text(data.fileId);
      const campaign = text(data.campaignName);
      return `🎉 ${shards} generated${file ? ` from "${file}"` : ""}!` +
        (campaign ? ` Check your "${campaign}" campaign to review them.` : "");
    }
    case "file_uploaded":
      return `✅ '${text(data.fileName) || text(data.fileId) || "Your file"}' has been uploaded ` +
        `successfully (${formatSize(Number(data.size))})`;
    case "campaign_created":
      return `🎯 Your campaign '${text(data.name)}' has been created successfully!`;
    default: {
      // success, error, message, and types added by configuration: their own message.
      const message = text(data.message);
      if (message) return message;
      const title = text(data.title);
      return title || type;
    }
  }
}
