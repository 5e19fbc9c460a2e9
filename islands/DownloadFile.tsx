import { useEffect, useState } from "preact/hooks";
import { ApiClientError } from "../lib/client/mod.ts";
import {
  DecryptionError,
  downloadFile,
  formatBytes,
  formatTimeLeft,
  getFileInfo,
} from "../lib/link_client/mod.ts";

/** What the `/d/:id` page knows about a file without its key. */
export type DownloadFileProps = {
  id: string;
  name: string;
  /** Stored bytes (ciphertext for encrypted files). */
  size: number;
  expiresAt: string;
  encrypted: boolean;
  downloadsLeft: number | null;
};

type KeyState = "unneeded" | "checking" | "ok" | "missing" | "wrong";
type Transfer =
  | { kind: "idle" }
  | { kind: "downloading"; loaded: number; total: number }
  | { kind: "done"; name: string; size: number }
  | { kind: "error"; message: string };

function linkKey(): string | undefined {
  return new URLSearchParams(location.hash.slice(1)).get("k") ?? undefined;
}

function save(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = name;
  anchor.rel = "noopener";
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The download page of link mode: shows the file, then downloads (and decrypts) it with progress. */
export default function DownloadFile(props: DownloadFileProps) {
  const [name, setName] = useState(props.encrypted ? "Encrypted file" : props.name);
  const [size, setSize] = useState(props.size);
  const [keyState, setKeyState] = useState<KeyState>(props.encrypted ? "checking" : "unneeded");
  const [downloadsLeft, setDownloadsLeft] = useState(props.downloadsLeft);
  const [transfer, setTransfer] = useState<Transfer>({ kind: "idle" });
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 30_000);
    if (!props.encrypted) return () => clearInterval(timer);
    const key = linkKey();
    if (!key) {
      setKeyState("missing");
      return () => clearInterval(timer);
    }
    getFileInfo(props.id, { key }).then((info) => {
      setName(info.name);
      setSize(info.size);
      setKeyState("ok");
    }).catch((error) => {
      if (error instanceof DecryptionError) setKeyState("wrong");
      else setTransfer({ kind: "error", message: String(error?.message ?? error) });
    });
    return () => clearInterval(timer);
  }, []);

  async function start(): Promise<void> {
    setTransfer({ kind: "downloading", loaded: 0, total: props.size });
    try {
      const file = await downloadFile(props.id, {
        ...(props.encrypted ? { key: linkKey() } : {}),
        onProgress: ({ loaded, total }) => setTransfer({ kind: "downloading", loaded, total }),
      });
      save(file.blob, file.name);
      if (downloadsLeft !== null) setDownloadsLeft(Math.max(0, downloadsLeft - 1));
      setTransfer({ kind: "done", name: file.name, size: file.size });
    } catch (error) {
      const message = error instanceof DecryptionError
        ? `The file could not be verified: ${error.message}. Nothing was saved.`
        : error instanceof ApiClientError
        ? error.message
        : String(error);
      setTransfer({ kind: "error", message });
    }
  }

  const expired = Date.parse(props.expiresAt) <= now;
  const blocked = keyState === "missing" || keyState === "wrong" || keyState === "checking" ||
    expired || downloadsLeft === 0;
  const percent = transfer.kind === "downloading" && transfer.total > 0
    ? Math.floor((transfer.loaded / transfer.total) * 100)
    : 0;

  return (
    <div class="download-card">
      <div class="file-head">
        <span class="file-icon" aria-hidden="true">
          <svg
            viewBox="0 0 24 24"
            width="26"
            height="26"
            fill="none"
            stroke="currentColor"
            stroke-width="1.8"
            stroke-linecap="round"
            stroke-linejoin="round"
          >
            {props.encrypted
              ? (
                <>
                  <rect x="4.5" y="10.5" width="15" height="10" rx="2" />
                  <path d="M8 10.5V7.5a4 4 0 0 1 8 0v3" />
                  <path d="M12 14.5v2.5" />
                </>
              )
              : (
                <>
                  <path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z" />
                  <path d="M14 3v5h5" />
                </>
              )}
          </svg>
        </span>
        <div>
          <h1 class="file-name" data-testid="download-name">{name}</h1>
          <p class="muted" data-testid="download-size">
            {formatBytes(size)} · expires {formatTimeLeft(props.expiresAt, now)}
            {downloadsLeft !== null &&
              ` · ${downloadsLeft} download${downloadsLeft === 1 ? "" : "s"} left`}
          </p>
        </div>
      </div>
      {props.encrypted && (
        <p class="badge-row">
          <span class="badge">End-to-end encrypted</span>
          <span class="muted">Decrypted in this browser; the server only has ciphertext.</span>
        </p>
      )}
      {keyState === "missing" && (
        <p class="notice error" role="alert">
          This link is missing its key (the part after #). Ask the sender for the full link.
        </p>
      )}
      {keyState === "wrong" && (
        <p class="notice error" role="alert">
          The key in this link does not match the file. Ask the sender for the full link.
        </p>
      )}
      {transfer.kind === "downloading" && (
        <div class="progress-block">
          <progress max={100} value={percent} />
          <span class="muted">
            Downloading{props.encrypted ? " and decrypting" : ""} · {percent}% ·{" "}
            {formatBytes(transfer.loaded)} of {formatBytes(transfer.total)}
          </span>
        </div>
      )}
      {transfer.kind === "done" && (
        <p class="notice ok" role="status" data-testid="download-status">
          Saved {transfer.name} ({formatBytes(transfer.size)})
          {props.encrypted ? ", decrypted and verified." : "."}
        </p>
      )}
      {transfer.kind === "error" && (
        <p class="notice error" role="alert" data-testid="download-error">{transfer.message}</p>
      )}
      <p class="actions">
        <button
          type="button"
          class="primary"
          data-testid="download-button"
          disabled={blocked || transfer.kind === "downloading"}
          onClick={start}
        >
          {transfer.kind === "done" ? "Download again" : "Download"}
        </button>
      </p>
    </div>
  );
}
