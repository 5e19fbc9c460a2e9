/**
 * Pieces the live-transfer islands share (send on `/share`, receive on
 * `/r/:code`, and the link upload): the route note, progress with speed and
 * time left, the file list, the QR code and the drop zone. Browser-safe presentational components.
 */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { formatBytes } from "../lib/link_client/display.ts";
import { formatEta, formatSpeed } from "../lib/file_share/meter.ts";
import { isSnippet } from "../lib/file_share/files.ts";
import { qrPath } from "../lib/file_share/qr.ts";
import type { FileView, Phase, TransferView } from "../lib/file_share/view.ts";

/** A label for a file input that also takes dropped files (highlighted while dragging over). */
export function DropZone(
  props: { for: string; onFiles(files: FileList | undefined): void; children: ComponentChildren },
) {
  const [dragging, setDragging] = useState(false);
  return (
    <label
      class={dragging ? "dropzone active" : "dropzone"}
      for={props.for}
      onDragOver={(event) => {
        event.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(event) => {
        event.preventDefault();
        setDragging(false);
        props.onFiles(event.dataTransfer?.files);
      }}
    >
      {props.children}
    </label>
  );
}

/** A button that copies `text`, saying so for two seconds. */
export function CopyButton(props: { text: string; label: string; testId: string }) {
  const [copied, setCopied] = useState(false);
  async function copy(): Promise<void> {
    try {
      await navigator.clipboard.writeText(props.text);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      setCopied(false);
    }
  }
  return (
    <button
      type="button"
      class="share-copy"
      onClick={copy}
      data-testid={props.testId}
      aria-label={props.label}
    >
      {copied ? "Copied" : "Copy"}
    </button>
  );
}

const PHASES: { phase: Phase; label: string }[] = [
  { phase: "signaling", label: "Waiting" },
  { phase: "connecting", label: "Connecting" },
  { phase: "transferring", label: "Transferring" },
  { phase: "done", label: "Done" },
];

function phaseRank(phase: Phase): number {
  if (phase === "connected") return 1;
  if (phase === "done") return PHASES.length;
  return PHASES.findIndex((item) => item.phase === phase);
}

/** The four steps of a transfer, the current one highlighted. */
export function PhaseSteps(props: { phase: Phase }) {
  const rank = phaseRank(props.phase);
  return (
    <ol class="share-steps" data-testid="share-phase" data-phase={props.phase}>
      {PHASES.map((item, index) => (
        <li
          class={index < rank ? "step done" : index === rank ? "step current" : "step"}
          aria-current={index === rank ? "step" : undefined}
        >
          <span class="step-dot" aria-hidden="true">{index < rank ? "✓" : index + 1}</span>
          {item.label}
        </li>
      ))}
    </ol>
  );
}

/** Which path the bytes take, in words. */
export function RouteNote(props: { view: TransferView; role: "sender" | "receiver" }) {
  const { route, relayReason } = props.view;
  if (!route) return null;
  if (route === "relay") {
    return (
      <p class="notice warn route-note" data-testid="share-route" data-route="relay">
        <strong>Using the relay.</strong> {props.role === "sender"
          ? "A direct connection was not possible, so the files are encrypted in this browser and uploaded; the receiver's page downloads and decrypts them by itself."
          : "A direct connection was not possible, so the sender uploads the files encrypted and this page downloads and decrypts them by itself."}
        {relayReason ? <span class="muted route-why">Why: {relayReason}.</span> : null}
      </p>
    );
  }
  return (
    <p class="route-note route-ok" data-testid="share-route" data-route={route}>
      <span class="badge">{route === "turn" ? "Peer-to-peer via TURN" : "Peer-to-peer"}</span>{" "}
      <span class="muted">
        {route === "turn"
          ? "Connected through a TURN server; the data stays encrypted end to end (DTLS)."
          : "Connected directly; the files never touch the server."}
      </span>
    </p>
  );
}

function percent(bytes: number, total: number): number {
  if (total <= 0) return 100;
  return Math.min(100, Math.floor((bytes / total) * 100));
}

/** A progress bar (a plain element: styles work the same in every browser). */
export function Bar(props: { value: number; label: string; testId?: string }) {
  return (
    <div
      class="bar"
      role="progressbar"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={props.value}
      data-testid={props.testId}
    >
      <span style={`width: ${props.value}%`} />
    </div>
  );
}

/** Total progress: bar, bytes, percent, speed and time left. */
export function TransferProgress(props: { view: TransferView }) {
  const { view } = props;
  const value = percent(view.bytes, view.totalBytes);
  const finished = view.phase === "done";
  const elapsed = view.startedAt && view.finishedAt
    ? Math.max(0.001, (view.finishedAt - view.startedAt) / 1000)
    : null;
  return (
    <div class="share-progress" data-testid="share-progress" data-percent={value}>
      <div class="share-progress-head">
        <strong data-testid="share-percent">{value}%</strong>
        <span class="muted">
          {formatBytes(view.bytes)} of {formatBytes(view.totalBytes)}
        </span>
      </div>
      <Bar value={value} label="Total progress" />
      <div class="share-progress-facts muted">
        {finished && elapsed
          ? (
            <span data-testid="share-summary">
              {formatBytes(view.totalBytes)} in{" "}
              {elapsed < 10 ? elapsed.toFixed(1) : Math.round(elapsed)} s ·{" "}
              {formatSpeed(view.totalBytes / elapsed)} on average
            </span>
          )
          : (
            <>
              <span>
                {view.speed > 0 && view.phase === "transferring" ? formatSpeed(view.speed) : "—"}
              </span>
              <span>{view.phase === "transferring" ? formatEta(view.secondsLeft) : ""}</span>
            </>
          )}
      </div>
    </div>
  );
}

const STATUS_TEXT: Record<FileView["status"], string> = {
  waiting: "Waiting",
  encrypting: "Encrypting…",
  active: "",
  verified: "✓ SHA-256 matches",
  uploaded: "Uploaded, waiting for the receiver",
  downloaded: "Downloaded by the receiver",
  failed: "Failed",
};

function fileIcon(file: FileView): string {
  if (isSnippet(file.type)) return "✎";
  if (file.type.startsWith("image/")) return "▣";
  if (file.type.startsWith("text/")) return "≡";
  return "▤";
}

/** The files of a transfer, each with its own progress and, for the receiver, a save button. */
export function FileRows(
  props: { view: TransferView; role: "sender" | "receiver"; compact?: boolean },
) {
  const { view, role } = props;
  return (
    <ul class="share-files" data-testid="share-files">
      {view.files.map((file) => {
        const value = percent(file.bytes, file.size);
        const active = file.status === "active";
        const stopped = view.phase === "canceled" || view.phase === "failed";
        const statusText = active
          ? stopped ? `Stopped at ${value}%` : `${value}%`
          : STATUS_TEXT[file.status];
        const fileEta = active && !stopped && view.speed > 0 && file.index === view.activeFile
          ? formatEta((file.size - file.bytes) / view.speed)
          : "";
        return (
          <li
            class={`share-file status-${file.status}`}
            data-testid="share-file"
            data-status={file.status}
            data-name={file.name}
            data-sha256={file.sha256}
          >
            <span class="share-file-icon" aria-hidden="true">{fileIcon(file)}</span>
            <div class="share-file-main">
              <div class="share-file-line">
                <span class="share-file-name">
                  {isSnippet(file.type) ? "Text message" : file.name}
                </span>
                <span class="share-file-size muted">{formatBytes(file.size)}</span>
              </div>
              {!props.compact && file.status !== "waiting" && file.status !== "verified" &&
                  file.status !== "downloaded" && file.status !== "failed"
                ? <Bar value={value} label={`Progress of ${file.name}`} />
                : null}
              {!props.compact && (
                <div class="share-file-meta muted">
                  <span
                    class={`share-file-status ${file.status}`}
                    data-testid="share-file-status"
                  >
                    {file.status === "verified" || file.status === "uploaded" ||
                        file.status === "downloaded"
                      ? "✓ "
                      : file.status === "failed"
                      ? "✕ "
                      : ""}
                    {statusText}
                    {file.status === "verified" && role === "receiver" && file.savedToDisk
                      ? " · saved to the folder"
                      : ""}
                    {file.status === "verified" && role === "sender" ? " by the receiver" : ""}
                  </span>
                  {fileEta && <span>{formatSpeed(view.speed)} · {fileEta}</span>}
                  {file.message && <span class="share-file-error">{file.message}</span>}
                </div>
              )}
              {role === "receiver" && file.text !== undefined && (
                <pre class="share-snippet" data-testid="share-snippet">{file.text}</pre>
              )}
            </div>
            {role === "receiver" && file.text !== undefined && (
              <CopyButton text={file.text} label="Copy the message" testId="share-copy-text" />
            )}
            {role === "receiver" && file.url && file.text === undefined && (
              <a
                class="button share-save"
                href={file.url}
                download={file.name}
                data-testid="share-save"
              >
                Save
              </a>
            )}
          </li>
        );
      })}
    </ul>
  );
}

/** The QR code of a link, drawn as one SVG path. */
export function QrCode(props: { text: string; label: string }) {
  const { size, path } = qrPath(props.text);
  return (
    <svg
      class="qr"
      viewBox={`0 0 ${size} ${size}`}
      role="img"
      aria-label={props.label}
      data-testid="share-qr"
      shape-rendering="crispEdges"
    >
      <rect width={size} height={size} fill="#fff" />
      <path d={path} fill="#111827" />
    </svg>
  );
}

/**
 * The code box: a plain form (`GET /r?code=`), so it works before any script
 * runs; the server redirects to `/r/<CODE>`.
 */
export function ReceiveCodeForm(props: { id?: string; autoFocus?: boolean }) {
  const id = props.id ?? "receive-code";
  return (
    <form class="receive-code-form" method="get" action="/r" data-testid="receive-code-form">
      <label for={id}>Enter a code</label>
      <div class="copy-row">
        <input
          id={id}
          name="code"
          class="code-input"
          required
          minLength={6}
          maxLength={9}
          autocomplete="off"
          autocapitalize="characters"
          spellcheck={false}
          placeholder="K7QX3M"
          aria-describedby={`${id}-hint`}
          data-testid="receive-code-input"
          autoFocus={props.autoFocus}
        />
        <button type="submit" class="primary" data-testid="receive-code-submit">Receive</button>
      </div>
      <p class="muted hint" id={`${id}-hint`}>Six letters and digits, from the sender's screen.</p>
    </form>
  );
}
