/**
 * @module
 * Link mode over HTTP (docs/link_mode.md): `POST /api/upload`, `GET|HEAD|DELETE
 * /api/download/:id`, `GET /api/files/:id` (metadata for the download page), and
 * the pages `/share` and `/d/:id`. Validates, calls `lib/link`, responds.
 */
import { Hono } from "hono";
import { z } from "zod";
import { DownloadPage } from "../components/DownloadPage.tsx";
import { renderPage } from "../components/render_page.tsx";
import { SharePage } from "../components/SharePage.tsx";
import type { AppContext } from "../lib/context.ts";
import { ApiError } from "../lib/errors/mod.ts";
import { encodeBase64Url } from "../lib/text/mod.ts";
import {
  contentDisposition,
  decodeFilenameHeader,
  type FileRecord,
  FileTooLargeError,
  type LinkService,
  multipartBoundary,
  MultipartError,
  normalizeMediaType,
  parseRange,
  readMultipartFile,
  sanitizeFilename,
  servedContentType,
  StorageFullError,
  UploadAbortedError,
} from "../lib/link/mod.ts";
import { enforceRateLimit } from "../lib/rate_limit/mod.ts";
import { clientAddress, publicOrigin, readQuery, streamedBody } from "./_http.ts";
import { liveShareProps } from "./share_pages.tsx";
import type { Config } from "../lib/config/mod.ts";
import { type Endpoint, serve } from "./_endpoint.ts";

/** Room for multipart boundaries, part headers and small fields on top of the file. */
const MULTIPART_OVERHEAD_BYTES = 128 * 1024;
/** Bytes of an encrypted file's start that `/api/files/:id` hands out (its encrypted header). */
export const ENCRYPTION_HEADER_BYTES = 4096;
/** Name used for raw uploads without `X-Filename`. */
const DEFAULT_FILENAME = "upload.bin";

/** The query of `POST /api/upload`. */
export const uploadQuerySchema = z.object({
  ttlSeconds: z.coerce.number().int().min(1).max(86400).optional(),
  maxDownloads: z.coerce.number().int().min(1).max(1_000_000).optional(),
  encrypted: z.enum(["0", "1", "true", "false"]).optional(),
});

function isTrue(value: string | undefined): boolean {
  return value === "1" || value === "true";
}

function hexToBase64(hex: string): string {
  const bytes = new Uint8Array(hex.length / 2);
  for (let index = 0; index < bytes.length; index++) {
    bytes[index] = parseInt(hex.slice(index * 2, index * 2 + 2), 16);
  }
  return btoa(String.fromCharCode(...bytes));
}

/** Headers every download response carries. */
function downloadHeaders(file: FileRecord): Record<string, string> {
  const headers: Record<string, string> = {
    "Content-Type": servedContentType(file.type),
    "Content-Disposition": contentDisposition(file.name),
    "Accept-Ranges": "bytes",
    "Cache-Control": "private, no-store",
    "ETag": `"${file.sha256}"`,
    "Repr-Digest": `sha-256=:${hexToBase64(file.sha256)}:`,
    "X-Content-Type-Options": "nosniff",
  };
  if (file.encrypted) headers["X-Encrypted"] = "1";
  return headers;
}

/** Reads a stream to its end, at most `limit` bytes. */
async function readPrefix(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const result = new Uint8Array(limit);
  let filled = 0;
  for await (const piece of stream) {
    result.set(piece.subarray(0, limit - filled), filled);
    filled += Math.min(piece.byteLength, limit - filled);
    if (filled >= limit) break;
  }
  return result.subarray(0, filled);
}

/** The JSON that describes a stored file (never the delete token or its hash). */
function describe(file: FileRecord, downloadsLeft: number | null, origin: string) {
  return {
    id: file.id,
    name: file.name,
    size: file.size,
    type: file.type,
    sha256: file.sha256,
    encrypted: file.encrypted,
    createdAt: new Date(file.createdAt).toISOString(),
    expiresAt: new Date(file.expiresAt).toISOString(),
    maxDownloads: file.maxDownloads,
    downloadsLeft,
    url: `${origin}/d/${file.id}`,
    downloadUrl: `${origin}/api/download/${file.id}`,
  };
}

/**
 * What logs may show of an upload id: its first 4 of 22 characters (24 of 128
 * random bits), enough to tell uploads apart in a log and far too few to
 * download anything.
 */
function idPrefix(id: string): string {
  return id.slice(0, 4);
}

const fileParams = z.object({
  id: z.string().describe("The `id` the upload answered with."),
});

function upload(query = ""): string {
  return `UPLOAD=$(echo 'hello, world' | curl -fsS -X POST "$BASE/api/upload${query}" \\
  -H 'X-Filename: hello.txt' -H 'Content-Type: text/plain' --data-binary @-)
ID=$(jq -r .id <<<"$UPLOAD")`;
}

/** What describes a stored file (`describe()`): never the delete token or its hash. */
const fileDescriptionSchema = z.object({
  id: z.string(),
  name: z.string(),
  size: z.number().int().describe("Bytes."),
  type: z.string().describe("Media type."),
  sha256: z.string().describe("Hex SHA-256 of the stored bytes."),
  encrypted: z.boolean(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  maxDownloads: z.number().int().nullable(),
  downloadsLeft: z.number().int().nullable(),
  url: z.string().describe("The download page."),
  downloadUrl: z.string().describe("The bytes."),
});

/** The bytes of a file, whole or one range. */
const fileBytesSchema = z.string().describe("The file's bytes, as stored.");

/**
 * The link-mode endpoints: each one's contract, which the handlers below are
 * registered with and which `/docs` and `/docs/openapi.json` show.
 */
export function linkEndpoints(
  _config: Config,
): Record<"upload" | "download" | "downloadHeaders" | "deleteFile" | "metadata", Endpoint> {
  return {
    upload: {
      method: "POST",
      path: "/api/upload",
      tag: "Link mode",
      summary: "Upload a file, get a link",
      description: "The body is the file, raw (name in `X-Filename`) or as multipart/form-data. " +
        "It is streamed into KV as it arrives: memory stays flat whatever the size. At most " +
        "`MAX_UPLOAD_BYTES` (100 MiB); the link lives `ttlSeconds` (default " +
        "`UPLOAD_TTL_SECONDS`, at most 24 h). The `deleteToken` is shown only here.",
      auth: "none",
      rawBody: {
        mediaTypes: ["application/octet-stream", "multipart/form-data"],
        description: "The file: raw bytes (any media type), or multipart with a `filename`.",
      },
      query: uploadQuerySchema,
      notes: {
        ttlSeconds: "Life of the link.",
        maxDownloads: "Downloads allowed in all (default: no limit).",
        encrypted: "The bytes are ciphertext made by the browser (same as `X-Encrypted: 1`).",
      },
      headers: {
        "X-Filename":
          "The file name of a raw upload (percent-encoded UTF-8); default `upload.bin`.",
        "X-Encrypted": "`1` when the browser encrypted the bytes.",
      },
      responses: {
        201: {
          description:
            "`{id, name, size, type, sha256, encrypted, createdAt, expiresAt, maxDownloads, " +
            "downloadsLeft, url, downloadUrl, deleteToken}`",
          body: fileDescriptionSchema.extend({
            deleteToken: z.string().describe("Shown only here: deletes the file."),
          }),
        },
        400: "Bad name, multipart or query, or a `Host` that links are not built for",
        413: "Too large",
        429: "Too many uploads from this address",
        503: "Interrupted; retry",
        507: "Upload storage full; retry later",
      },
      errors: [
        "invalid_request",
        "invalid_host",
        "invalid_filename",
        "invalid_multipart",
        "upload_aborted",
        "body_timeout",
        "file_too_large",
        "rate_limited",
        "upload_interrupted",
        "storage_full",
      ],
      guides: ["link_mode"],
      example:
        `echo 'hello, world' | curl -fsS -X POST "$BASE/api/upload?ttlSeconds=600&maxDownloads=3" \\
  -H 'X-Filename: hello.txt' -H 'Content-Type: text/plain' --data-binary @-
# or as a form upload
printf 'some notes' | curl -fsS -F 'file=@-;filename=notes.txt' "$BASE/api/upload"`,
    },
    download: {
      method: "GET",
      path: "/api/download/{id}",
      tag: "Link mode",
      summary: "Download a file",
      description: "Streams the bytes with `Content-Length`, `Content-Disposition`, `ETag` and " +
        "`Repr-Digest`. `Range` (one range) answers 206; `If-Range` with the ETag is honored. " +
        "Each full or partial GET counts as a download against `maxDownloads`.",
      auth: "none",
      params: fileParams,
      headers: { Range: "`bytes=start-end`", "If-Range": "The ETag the range is valid for" },
      responses: {
        200: {
          description: "The file",
          body: fileBytesSchema,
          mediaType: "application/octet-stream",
        },
        206: {
          description: "Part of the file",
          body: fileBytesSchema,
          mediaType: "application/octet-stream",
        },
        404: "No such file",
        410: "Expired, used up or deleted",
        416: "Range outside the file",
      },
      errors: ["not_found", "expired", "range_not_satisfiable", "rate_limited"],
      guides: ["link_mode"],
      example: `${upload()}
curl -fsS "$BASE/api/download/$ID"
curl -fsS -r 0-4 "$BASE/api/download/$ID"   # a range: "hello"`,
    },
    downloadHeaders: {
      method: "HEAD",
      path: "/api/download/{id}",
      tag: "Link mode",
      summary: "File headers without a download",
      description: "The headers of `GET`, no body; does not count as a download.",
      auth: "none",
      params: fileParams,
      responses: {
        200: {
          description: "Headers",
          body: z.string().max(0).describe("HEAD answers with no body."),
          mediaType: "application/octet-stream",
        },
        404: "No such file",
        410: "Gone",
      },
      errors: ["not_found", "expired", "rate_limited"],
      guides: ["link_mode"],
      example: `${upload()}
curl -fsS -I "$BASE/api/download/$ID"`,
    },
    deleteFile: {
      method: "DELETE",
      path: "/api/download/{id}",
      tag: "Link mode",
      summary: "Delete a file",
      description: "Deletes the file at once with the delete token from the upload (in " +
        "`X-Delete-Token` or `Authorization: Bearer`). Later downloads answer 410.",
      auth: "delete_token",
      params: fileParams,
      responses: {
        200: {
          description: "`{id, deleted: true}`",
          body: z.object({ id: z.string(), deleted: z.literal(true) }),
        },
        401: "No delete token",
        403: "Wrong delete token",
        404: "No such file",
        410: "Already gone",
      },
      errors: [
        "delete_token_required",
        "wrong_delete_token",
        "not_found",
        "expired",
        "rate_limited",
      ],
      guides: ["link_mode"],
      example: `${upload()}
curl -fsS -X DELETE "$BASE/api/download/$ID" -H "X-Delete-Token: $(jq -r .deleteToken <<<"$UPLOAD")"`,
    },
    metadata: {
      method: "GET",
      path: "/api/files/{id}",
      tag: "Link mode",
      summary: "File metadata",
      description: "What the download page shows, without counting a download: name, size, " +
        "type, sha256, expiry and downloads left. For an encrypted file, `encryptionHeader` " +
        "holds its first bytes (the encrypted header with the name).",
      auth: "none",
      params: fileParams,
      responses: {
        200: {
          description:
            "`{id, name, size, type, sha256, encrypted, createdAt, expiresAt, maxDownloads, " +
            "downloadsLeft, url, downloadUrl, encryptionHeader?}`",
          body: fileDescriptionSchema.extend({
            encryptionHeader: z.string().optional().describe(
              "Encrypted files: the first bytes, base64url.",
            ),
          }),
        },
        400: "A `Host` that links are not built for",
        404: "No such file",
        410: "Gone",
      },
      errors: ["invalid_host", "not_found", "expired", "rate_limited"],
      guides: ["link_mode"],
      example: `${upload("?maxDownloads=5")}
curl -fsS "$BASE/api/files/$ID"`,
    },
  };
}

/** Link-mode routes for one isolate, over the link job's service. */
export function linkRoutes(ctx: AppContext, link: LinkService): Hono {
  const { store } = link;
  const app = new Hono();
  const endpoints = linkEndpoints(ctx.config);

  // The upload streams into the store, which cuts it off past MAX_UPLOAD_BYTES itself.
  serve(app, endpoints.upload, streamedBody(), async (c) => {
    const query = readQuery(c, uploadQuerySchema);
    // Refused before a byte is stored: the answer's links need a trusted origin.
    const origin = publicOrigin(ctx, c);
    await enforceRateLimit(ctx.rateLimiter, "upload", clientAddress(c), {
      limit: ctx.config.UPLOADS_PER_HOUR,
      windowMs: 3600_000,
    });
    const maxBytes = ctx.config.MAX_UPLOAD_BYTES;
    if (!ctx.storageBudget.allows("uploads", Number(c.req.header("content-length")) || 1)) {
      throw new StorageFullError("uploads");
    }
    // An upload may take long; it only must not stall (no bytes for this long is a 408).
    const idleTimeoutMs = ctx.config.BODY_TIMEOUT_SECONDS * 1000;
    const contentType = c.req.header("content-type");
    const boundary = multipartBoundary(contentType);
    if (!boundary && /^\s*multipart\//i.test(contentType ?? "")) {
      throw new MultipartError("only multipart/form-data with a boundary is accepted");
    }
    // A declared length over the cap is refused before a single byte is read.
    const declared = Number(c.req.header("content-length"));
    if (declared > maxBytes + (boundary ? MULTIPART_OVERHEAD_BYTES : 0)) {
      throw new FileTooLargeError(maxBytes);
    }
    const body = c.req.raw.body ?? new Blob([]).stream();
    // BYOB reads keep memory flat for bodies with a length; chunked ones are copied.
    const byob = c.req.header("content-length") !== undefined;
    let rawName: string;
    let declaredType: string | undefined;
    let source: AsyncIterable<Uint8Array>;
    if (boundary) {
      let part;
      try {
        part = await readMultipartFile(body, boundary, { byob, idleTimeoutMs });
      } catch (error) {
        if (error instanceof ApiError) throw error;
        throw new UploadAbortedError({ cause: error });
      }
      rawName = part.filename;
      declaredType = part.contentType;
      source = part.content;
    } else {
      const header = c.req.header("x-filename");
      rawName = header === undefined ? DEFAULT_FILENAME : decodeFilenameHeader(header);
      declaredType = contentType;
      source = body;
    }
    let name: string;
    try {
      name = sanitizeFilename(rawName);
    } catch (error) {
      await body.cancel().catch(() => {});
      throw error;
    }
    const encrypted = isTrue(c.req.header("x-encrypted")) || isTrue(query.encrypted);
    const { file, deleteToken } = await store.put(source, {
      name,
      type: encrypted ? "application/octet-stream" : normalizeMediaType(declaredType),
      encrypted,
      ttlSeconds: query.ttlSeconds ?? ctx.config.UPLOAD_TTL_SECONDS,
      maxDownloads: query.maxDownloads ?? null,
      maxBytes,
      byob,
      storage: ctx.storageBudget,
      idleTimeoutMs,
    });
    ctx.metrics.increment("switchboard_uploads_total");
    // The id is the download capability: logs get a prefix that tells uploads apart, no more.
    ctx.log.info("link_uploaded", { idPrefix: idPrefix(file.id), size: file.size, encrypted });
    c.header("Location", `/api/download/${file.id}`);
    c.header("Cache-Control", "no-store");
    return c.json({ ...describe(file, file.maxDownloads, origin), deleteToken }, 201);
  });

  serve(app, endpoints.download, async (c) => {
    const id = c.req.param("id");
    const { file } = await store.get(id);
    const ifRange = c.req.header("if-range");
    const rangeHeader = ifRange && ifRange !== `"${file.sha256}"`
      ? undefined
      : c.req.header("range");
    const range = parseRange(rangeHeader, file.size);
    if (range.kind === "unsatisfiable") {
      throw new ApiError(
        "range_not_satisfiable",
        `Range "${rangeHeader}" is outside the file's ${file.size} bytes`,
        { headers: { "Content-Range": `bytes */${file.size}` } },
      );
    }
    const headers = downloadHeaders(file);
    let status = 200;
    let start = 0;
    let end = file.size - 1;
    if (range.kind === "partial") {
      ({ start, end } = range);
      status = 206;
      headers["Content-Range"] = `bytes ${start}-${end}/${file.size}`;
    }
    headers["Content-Length"] = String(end - start + 1);
    // HEAD reaches this GET handler too; it shows the headers without counting a download.
    if (c.req.method === "HEAD") return new Response(null, { status, headers });
    const { file: claimed } = await store.claimDownload(id);
    ctx.metrics.increment("switchboard_downloads_total");
    const stream = file.size === 0 ? null : store.read(claimed, { start, end });
    return new Response(stream, { status, headers });
  });

  serve(app, endpoints.deleteFile, async (c) => {
    const id = c.req.param("id");
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    const token = c.req.header("x-delete-token") ?? bearer ?? c.req.query("deleteToken");
    if (!token) {
      throw new ApiError(
        "delete_token_required",
        "Send the delete token in X-Delete-Token (or Authorization: Bearer)",
      );
    }
    await store.delete(id, token);
    ctx.log.info("link_deleted", { idPrefix: idPrefix(id) });
    return c.json({ id, deleted: true });
  });

  serve(app, endpoints.metadata, async (c) => {
    const origin = publicOrigin(ctx, c);
    const { file, downloadsLeft } = await store.get(c.req.param("id"));
    const description: Record<string, unknown> = describe(file, downloadsLeft, origin);
    if (file.encrypted && file.size > 0) {
      // The encrypted header lets the page show the name before a download is counted.
      const limit = Math.min(file.size, ENCRYPTION_HEADER_BYTES);
      const prefix = await readPrefix(store.read(file, { start: 0, end: limit - 1 }), limit);
      description.encryptionHeader = encodeBase64Url(prefix);
    }
    c.header("Cache-Control", "no-store");
    return c.json(description);
  });

  app.get("/share", (c) =>
    c.html(renderPage({
      title: "Share files · Switchboard",
      description: "Send a file with an end-to-end encrypted link that expires.",
      manifest: ctx.manifest,
      body: SharePage({
        link: {
          maxBytes: ctx.config.MAX_UPLOAD_BYTES,
          defaultTtlSeconds: ctx.config.UPLOAD_TTL_SECONDS,
        },
        live: liveShareProps(ctx),
      }),
    })));

  app.get("/d/:id", async (c) => {
    const { file, downloadsLeft } = await store.get(c.req.param("id"));
    c.header("Cache-Control", "no-store");
    return c.html(renderPage({
      title: file.encrypted ? "Encrypted file · Switchboard" : `${file.name} · Switchboard`,
      description: "A file shared with Switchboard link mode.",
      manifest: ctx.manifest,
      body: DownloadPage({
        file: {
          id: file.id,
          name: file.name,
          size: file.size,
          expiresAt: new Date(file.expiresAt).toISOString(),
          encrypted: file.encrypted,
          downloadsLeft,
        },
      }),
    }));
  });

  return app;
}
