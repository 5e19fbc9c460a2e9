import { z } from "zod";
import { safeLinkTarget } from "./links.ts";

/**
 * A link a notification may carry: `https://…`, `http://…` or a relative link
 * that stays on the site showing it (`/d/abc`). Anything else (`javascript:`,
 * `data:`, `//host`, `/\\host`) is refused, because the bell renders links as
 * anchors (and checks them again against its page's origin).
 */
export const linkSchema = z.string().max(2048).refine(
  (value) => safeLinkTarget(value) !== null,
  "must be an http(s) URL or a link on this site (e.g. /d/abc)",
);

const text = (max: number) => z.string().trim().min(1).max(max);
const identifier = z.string().regex(
  /^[A-Za-z0-9_.:@-]{1,128}$/,
  "1-128 letters, digits, _ . : @ -",
);
const person = z.strictObject({ userId: identifier, name: text(100).optional() });

/** Fields every group notification carries; muting by group uses `groupId`. */
const group = {
  groupId: identifier,
  groupName: text(200),
  link: linkSchema.optional(),
};

/**
 * THE registry of notification types: one zod schema for the `data` of each.
 * To add a type, add one entry here (and, for the demo page, an example in
 * `examples.ts`); publishing, validation, the audit log, preferences and the
 * bell pick it up from here. Types are lowercase words joined by `.` or `_`;
 * the `notification.` prefix is reserved for control frames.
 */
export const NOTIFICATION_TYPES = {
  "group.invitation.received": z.strictObject({
    ...group,
    invitationId: identifier,
    invitedBy: person.optional(),
    message: text(500).optional(),
  }),
  "group.invitation.accepted": z.strictObject({
    ...group,
    invitationId: identifier,
    acceptedBy: person,
  }),
  "group.member.joined": z.strictObject({ ...group, member: person }),
  // The recipient is the member in these three (the design documents' payloads leave it out).
  "group.member.removed": z.strictObject({
    ...group,
    member: person.optional(),
    removedBy: person.optional(),
  }),
  "group.admin.granted": z.strictObject({
    ...group,
    member: person.optional(),
    grantedBy: person.optional(),
  }),
  "group.admin.revoked": z.strictObject({
    ...group,
    member: person.optional(),
    revokedBy: person.optional(),
  }),
  "group.join_request.created": z.strictObject({
    ...group,
    requestId: identifier,
    requester: person,
    message: text(500).optional(),
  }),
  "group.join_request.approved": z.strictObject({
    ...group,
    requestId: identifier,
    approvedBy: person.optional(),
  }),
  "group.join_request.rejected": z.strictObject({
    ...group,
    requestId: identifier,
    rejectedBy: person.optional(),
    reason: text(500).optional(),
  }),
  shards_generated: z.strictObject({
    fileId: identifier.optional(),
    fileName: text(255).optional(),
    campaignId: identifier.optional(),
    campaignName: text(200).optional(),
    shardCount: z.number().int().min(1).max(100_000),
    threshold: z.number().int().min(1).max(100_000).optional(),
    link: linkSchema.optional(),
  }),
  file_uploaded: z.strictObject({
    fileId: identifier.optional(),
    fileName: text(255),
    size: z.number().int().min(0),
    mimeType: text(255).optional(),
    uploadedBy: person.optional(),
    link: linkSchema.optional(),
  }),
  campaign_created: z.strictObject({
    campaignId: identifier.optional(),
    name: text(200),
    createdBy: person.optional(),
    link: linkSchema.optional(),
  }),
  success: z.strictObject({
    message: text(1000),
    title: text(200).optional(),
    link: linkSchema.optional(),
  }),
  error: z.strictObject({
    message: text(1000),
    title: text(200).optional(),
    code: identifier.optional(),
    link: linkSchema.optional(),
  }),
  /** A plain text message, as `POST /api/notify/:userId` makes from a text body (ntfy style). */
  message: z.strictObject({
    message: text(4096),
    title: text(250).optional(),
    tags: z.array(z.string().trim().min(1).max(64)).min(1).max(20).optional(),
    /** 1 (min) … 3 (default) … 5 (max), as ntfy. */
    priority: z.number().int().min(1).max(5).optional(),
    link: linkSchema.optional(),
  }),
} satisfies Record<string, z.ZodType>;

/** A type of the built-in registry. */
export type BuiltInNotificationType = keyof typeof NOTIFICATION_TYPES;

/** The `data` of each built-in type. */
export type NotificationData<T extends BuiltInNotificationType> = z.infer<
  (typeof NOTIFICATION_TYPES)[T]
>;

/** What a type name must look like. */
const TYPE_NAME_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,5}$/;

/** Data of a type added by configuration (`NOTIFY_EXTRA_TYPES`): any JSON object. */
const extraTypeSchema = z.record(z.string().max(100), z.unknown());

/** The result of checking a type and its data. */
export type TypeCheck =
  | { ok: true; data: Record<string, unknown> }
  | {
    ok: false;
    code: "unknown_type" | "invalid_data";
    message: string;
    issues: { path: string; message: string }[];
  };

/**
 * The registry in use: the built-in types plus types named by configuration,
 * whose data is any JSON object.
 */
export class NotificationTypes {
  readonly #schemas = new Map<string, z.ZodType>();

  constructor(extraTypes: readonly string[] = []) {
    for (const [name, schema] of Object.entries(NOTIFICATION_TYPES)) {
      this.#schemas.set(name, schema);
    }
    for (const name of extraTypes) {
      if (!TYPE_NAME_PATTERN.test(name) || name.startsWith("notification.")) {
        throw new Error(
          `Cannot register notification type "${name}": use lowercase words joined by . or _, ` +
            `not starting with "notification."`,
        );
      }
      if (!this.#schemas.has(name)) this.#schemas.set(name, extraTypeSchema);
    }
  }

  /** Every type name, built-in ones first. */
  get names(): string[] {
    return [...this.#schemas.keys()];
  }

  /** True for a registered type. */
  has(type: string): boolean {
    return this.#schemas.has(type);
  }

  /** Validates `data` against the schema of `type`. */
  check(type: string, data: unknown): TypeCheck {
    const schema = this.#schemas.get(type);
    if (!schema) {
      return {
        ok: false,
        code: "unknown_type",
        message: `Unknown notification type "${type.slice(0, 64)}"; known types: ${
          this.names.join(", ")
        }`,
        issues: [{ path: "type", message: "unknown notification type" }],
      };
    }
    const result = schema.safeParse(data);
    if (result.success) return { ok: true, data: result.data as Record<string, unknown> };
    const issues = result.error.issues.slice(0, 20).map((issue) => ({
      path: ["data", ...issue.path.map(String)].join("."),
      message: issue.message,
    }));
    return {
      ok: false,
      code: "invalid_data",
      message: `The data does not fit type "${type}": ${
        issues.slice(0, 5).map((issue) => `${issue.path}: ${issue.message}`).join("; ")
      }`,
      issues,
    };
  }
}
