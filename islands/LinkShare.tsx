import { useEffect, useRef, useState } from "preact/hooks";
import { ApiClientError } from "../lib/client/mod.ts";
import {
  deleteFile,
  formatBytes,
  formatDuration,
  formatTimeLeft,
  type UploadedFile,
  uploadFile,
} from "../lib/link_client/mod.ts";
import { DropZone } from "../components/ShareParts.tsx";

/** Props the `/share` page hands the link-mode island. */
export type LinkShareProps = {
  /** The server's upload cap in bytes. */
  maxBytes: number;
  /** The server's default link life in seconds. */
  defaultTtlSeconds: number;
};

type State =
  | { kind: "idle" }
  | { kind: "working"; phase: "encrypting" | "uploading"; loaded: number; total: number }
  | { kind: "done"; link: UploadedFile; name: string; size: number; deleted: boolean }
  | { kind: "error"; message: string };

const LIMITS = [0, 1, 5, 10];

function ttlChoices(defaultTtl: number): number[] {
  return [...new Set([600, 3600, 86400, defaultTtl])].filter((ttl) => ttl <= 86400)
    .sort((a, b) => a - b);
}

function describeError(error: unknown): string {
  if (error instanceof ApiClientError) {
    if (error.status === 0) return "The connection to the server failed. Please try again.";
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Link mode on `/share`: pick a file, encrypt it in the browser, upload it, share the link. */
export default function LinkShare(props: LinkShareProps) {
  const [file, setFile] = useState<File | null>(null);
  const [encrypt, setEncrypt] = useState(true);
  const [ttlSeconds, setTtlSeconds] = useState(props.defaultTtlSeconds);
  const [maxDownloads, setMaxDownloads] = useState(0);
  const [copied, setCopied] = useState(false);
  const [state, setState] = useState<State>({ kind: "idle" });
  const abort = useRef<AbortController | null>(null);
  const linkInput = useRef<HTMLInputElement>(null);

  useEffect(() => () => abort.current?.abort(), []);

  const tooBig = file !== null && file.size > props.maxBytes;

  function choose(files: FileList | null | undefined): void {
    const chosen = files?.[0];
    if (!chosen) return;
    setFile(chosen);
    if (state.kind === "error") setState({ kind: "idle" });
  }

  async function start(): Promise<void> {
    if (!file || tooBig) return;
    const controller = new AbortController();
    abort.current = controller;
    setState({
      kind: "working",
      phase: encrypt ? "encrypting" : "uploading",
      loaded: 0,
      total: file.size,
    });
    try {
      const link = await uploadFile(file, {
        encrypt,
        ttlSeconds,
        maxBytes: props.maxBytes,
        signal: controller.signal,
        ...(maxDownloads > 0 ? { maxDownloads } : {}),
        onProgress: (progress) => setState({ kind: "working", ...progress }),
      });
      setState({ kind: "done", link, name: file.name, size: file.size, deleted: false });
    } catch (error) {
      if (controller.signal.aborted) setState({ kind: "idle" });
      else setState({ kind: "error", message: describeError(error) });
    } finally {
      abort.current = null;
    }
  }

  async function copy(link: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(link);
    } catch {
      linkInput.current?.select();
      document.execCommand?.("copy");
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  }

  async function remove(done: Extract<State, { kind: "done" }>): Promise<void> {
    try {
      await deleteFile(done.link.id, done.link.deleteToken);
      setState({ ...done, deleted: true });
    } catch (error) {
      setState({ kind: "error", message: describeError(error) });
    }
  }

  function reset(): void {
    setFile(null);
    setCopied(false);
    setState({ kind: "idle" });
  }

  if (state.kind === "done") {
    const { link } = state;
    return (
      <div class="link-share" data-testid="link-result">
        {state.deleted
          ? (
            <p class="notice warn" role="status" data-testid="link-deleted">
              Deleted. The link no longer works.
            </p>
          )
          : (
            <>
              <p class="notice ok" role="status">
                <strong>{state.name}</strong> ({formatBytes(state.size)}) is ready to share.
              </p>
              <label for="link-url">Link</label>
              <div class="copy-row">
                <input
                  id="link-url"
                  ref={linkInput}
                  data-testid="link-url"
                  readOnly
                  value={link.url}
                  onFocus={(event) => event.currentTarget.select()}
                />
                <button type="button" class="primary" onClick={() => copy(link.url)}>
                  {copied ? "Copied" : "Copy"}
                </button>
              </div>
              <ul class="link-facts">
                <li>
                  Expires {formatTimeLeft(link.expiresAt)}
                  {maxDownloads > 0
                    ? `, or after ${maxDownloads} download${maxDownloads === 1 ? "" : "s"}`
                    : ""}
                </li>
                <li>
                  {link.encrypted
                    ? "End-to-end encrypted: the key is the part after # and never reaches the server."
                    : "Not encrypted: the server can read this file."}
                </li>
              </ul>
            </>
          )}
        <p class="actions">
          {!state.deleted && (
            <a class="button" href={link.url} target="_blank" rel="noopener">Open link</a>
          )}
          {!state.deleted && (
            <button
              type="button"
              class="danger"
              data-testid="link-delete"
              onClick={() => remove(state)}
            >
              Delete now
            </button>
          )}
          <button type="button" onClick={reset}>Share another file</button>
        </p>
      </div>
    );
  }

  const working = state.kind === "working";
  const percent = working && state.total > 0 ? Math.floor((state.loaded / state.total) * 100) : 0;
  return (
    <div class="link-share">
      <DropZone for="link-file" onFiles={(files) => !working && choose(files)}>
        <input
          id="link-file"
          type="file"
          class="visually-hidden"
          data-testid="link-file-input"
          disabled={working}
          onChange={(event) => choose(event.currentTarget.files)}
        />
        {file
          ? (
            <span class="picked">
              <strong data-testid="link-file-name">{file.name}</strong>
              <span class="muted">{formatBytes(file.size)} · click to choose another</span>
            </span>
          )
          : (
            <span class="picked">
              <strong>Drop a file here or click to choose</strong>
              <span class="muted">Up to {formatBytes(props.maxBytes)}</span>
            </span>
          )}
      </DropZone>
      {tooBig && (
        <p class="notice error" role="alert">
          This file is larger than the limit of {formatBytes(props.maxBytes)}.
        </p>
      )}

      <div class="link-options">
        <label class="check">
          <input
            type="checkbox"
            data-testid="link-encrypt"
            checked={encrypt}
            disabled={working}
            onChange={(event) => setEncrypt(event.currentTarget.checked)}
          />
          <span>
            End-to-end encryption
            <span class="muted">The file and its name are encrypted in this browser.</span>
          </span>
        </label>
        <div class="link-selects">
          <div>
            <label for="link-ttl">Expires after</label>
            <select
              id="link-ttl"
              disabled={working}
              value={String(ttlSeconds)}
              onChange={(event) => setTtlSeconds(Number(event.currentTarget.value))}
            >
              {ttlChoices(props.defaultTtlSeconds).map((ttl) => (
                <option value={String(ttl)}>{formatDuration(ttl)}</option>
              ))}
            </select>
          </div>
          <div>
            <label for="link-limit">Downloads</label>
            <select
              id="link-limit"
              disabled={working}
              value={String(maxDownloads)}
              onChange={(event) => setMaxDownloads(Number(event.currentTarget.value))}
            >
              {LIMITS.map((limit) => (
                <option value={String(limit)}>
                  {limit === 0 ? "No limit" : `${limit} download${limit === 1 ? "" : "s"}`}
                </option>
              ))}
            </select>
          </div>
        </div>
      </div>

      {working && (
        <div class="progress-block" data-testid="link-progress">
          <progress max={100} value={percent} />
          <span class="muted">
            {state.phase === "encrypting" ? "Encrypting" : "Uploading"} · {percent}% ·{" "}
            {formatBytes(state.loaded)} of {formatBytes(state.total)}
          </span>
        </div>
      )}
      {state.kind === "error" && <p class="notice error" role="alert">{state.message}</p>}

      <p class="actions">
        {working
          ? (
            <button type="button" onClick={() => abort.current?.abort()}>
              Cancel
            </button>
          )
          : (
            <button
              type="button"
              class="primary"
              data-testid="link-submit"
              disabled={!file || tooBig}
              onClick={start}
            >
              {encrypt ? "Encrypt and create link" : "Upload and create link"}
            </button>
          )}
      </p>
    </div>
  );
}
