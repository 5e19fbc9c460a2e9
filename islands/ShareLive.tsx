import { useEffect, useRef, useState } from "preact/hooks";
import { formatBytes } from "../lib/link_client/display.ts";
import {
  LiveSender,
  readStoredSend,
  SENDER_STORAGE_KEY,
  type SenderView,
  type StoredSenderSession,
} from "../lib/file_share/live_sender.ts";
import { isSnippet, MAX_SNIPPET_CHARS, snippetFile } from "../lib/file_share/files.ts";
import { MAX_FILES } from "../lib/file_share/messages.ts";
import { emptyView } from "../lib/file_share/view.ts";
import { registerServiceWorker, takeSharedItems } from "../lib/web_app/client.ts";
import {
  CopyButton,
  DropZone,
  FileRows,
  PhaseSteps,
  QrCode,
  RouteNote,
  TransferProgress,
} from "../components/ShareParts.tsx";
import { PairingCheck } from "../components/PairingCheck.tsx";

/** Props the `/share` page hands the live-transfer island. */
export type ShareLiveProps = {
  /** Fall back to link mode when the browsers have not connected after this long. */
  fallbackTimeoutMs: number;
  /** The server's link-mode upload cap (bytes), for the fallback. */
  maxUploadBytes: number;
};

/** `?ice=relay` forces TURN-only connections (to check a TURN setup; the tests use it). */
function icePolicy(): RTCIceTransportPolicy {
  return new URLSearchParams(location.search).get("ice") === "relay" ? "relay" : "all";
}

function Pairing(props: { view: SenderView }) {
  const { view } = props;
  if (!view.code || !view.joinUrl) {
    return <p class="muted" data-testid="live-creating">Creating the transfer…</p>;
  }
  return (
    <div class="pairing">
      <div class="pairing-text">
        <label>Code</label>
        <div class="code-row">
          <span class="code-box" data-testid="live-code">{view.code}</span>
          <CopyButton text={view.code} label="Copy the code" testId="live-copy-code" />
        </div>
        <label for="live-link">Link for the receiver</label>
        <div class="copy-row">
          <input
            id="live-link"
            readOnly
            value={view.joinUrl}
            data-testid="live-link"
            onFocus={(event) => event.currentTarget.select()}
          />
          <CopyButton text={view.joinUrl} label="Copy the link" testId="live-copy-link" />
        </div>
        <p
          class={view.peer === "joined" ? "peer-status joined" : "peer-status"}
          data-testid="live-peer"
          data-peer={view.peer}
          role="status"
        >
          <span class="pulse" aria-hidden="true" />
          {view.peer === "joined"
            ? "The receiver joined. Waiting for them to accept…"
            : view.peer === "left"
            ? "The receiver left. Waiting for them to come back…"
            : "Waiting for the receiver to open the link or enter the code…"}
        </p>
      </div>
      <figure class="pairing-qr">
        <QrCode text={view.joinUrl} label={`QR code of ${view.joinUrl}`} />
        <figcaption class="muted">Scan with a phone camera</figcaption>
      </figure>
    </div>
  );
}

function Picker(props: {
  files: File[];
  snippet: string;
  onFiles(files: File[]): void;
  onSnippet(text: string): void;
  onStart(): void;
}) {
  const { files } = props;
  const total = files.reduce((sum, file) => sum + file.size, 0);
  const add = (list: FileList | null | undefined) => {
    if (!list?.length) return;
    props.onFiles([...files, ...list].slice(0, MAX_FILES - 1));
  };
  const empty = files.length === 0 && props.snippet.trim().length === 0;
  return (
    <div class="live-picker">
      <DropZone for="live-files" onFiles={add}>
        <input
          id="live-files"
          type="file"
          multiple
          class="visually-hidden"
          data-testid="live-file-input"
          onChange={(event) => {
            add(event.currentTarget.files);
            event.currentTarget.value = "";
          }}
        />
        <span class="picked">
          <strong>{files.length ? "Add more files" : "Drop files here or click to choose"}</strong>
          <span class="muted">Any size: they go straight to the other browser</span>
        </span>
      </DropZone>
      {files.length > 0 && (
        <ul class="picked-files" data-testid="live-picked">
          {files.map((file, index) => (
            <li>
              <span class="share-file-name">{file.name}</span>
              <span class="muted">{formatBytes(file.size)}</span>
              <button
                type="button"
                class="icon-button"
                aria-label={`Remove ${file.name}`}
                onClick={() => props.onFiles(files.filter((_, other) => other !== index))}
              >
                ×
              </button>
            </li>
          ))}
          <li class="picked-total muted">
            {files.length} file{files.length === 1 ? "" : "s"} · {formatBytes(total)}
          </li>
        </ul>
      )}
      <label for="live-snippet">
        Message <span class="muted label-note">(optional)</span>
      </label>
      <textarea
        id="live-snippet"
        rows={2}
        maxLength={MAX_SNIPPET_CHARS}
        placeholder="A note, a password, a link…"
        data-testid="live-snippet"
        value={props.snippet}
        onInput={(event) => props.onSnippet(event.currentTarget.value)}
      />
      <p class="actions">
        <button
          type="button"
          class="primary"
          data-testid="live-start"
          disabled={empty}
          onClick={props.onStart}
        >
          Create transfer
        </button>
      </p>
    </div>
  );
}

function Outcome(props: { view: SenderView; onRetry(): void; onStartOver(): void }) {
  const { view } = props;
  if (view.phase === "done") {
    const failed = view.files.filter((file) => file.status === "failed").length;
    return (
      <div class="notice ok outcome" role="status" data-testid="live-done">
        <strong>
          {view.route === "relay"
            ? "Uploaded to the relay."
            : failed
            ? `Delivered, but ${failed} file${failed === 1 ? "" : "s"} arrived damaged.`
            : "Delivered. The receiver verified every file."}
        </strong>{" "}
        {view.route === "relay"
          ? "The receiver's page downloads and decrypts the files by itself; each row shows when it did."
          : ""}
        <div class="actions">
          <button type="button" data-testid="live-start-over" onClick={props.onStartOver}>
            Send more files
          </button>
        </div>
      </div>
    );
  }
  if (view.phase === "failed") {
    return (
      <div class="notice error outcome" role="alert" data-testid="live-failed">
        <strong>The transfer failed.</strong> {view.reason}
        <div class="actions">
          <button type="button" class="primary" data-testid="live-retry" onClick={props.onRetry}>
            Retry
          </button>
          <button type="button" data-testid="live-start-over" onClick={props.onStartOver}>
            Start over
          </button>
        </div>
      </div>
    );
  }
  if (view.phase === "canceled") {
    return (
      <div class="notice warn outcome" role="status" data-testid="live-canceled">
        <strong>
          {view.canceledBy === "you" ? "You canceled the transfer." : "The transfer was canceled."}
        </strong>{" "}
        {view.canceledBy === "you" ? "" : view.reason}
        <div class="actions">
          <button type="button" data-testid="live-start-over" onClick={props.onStartOver}>
            Start over
          </button>
        </div>
      </div>
    );
  }
  return null;
}

/**
 * After a reload mid-transfer: the page cannot read the files again by
 * itself, so it asks for them and goes on where the transfer stopped.
 */
function ResumePrompt(props: {
  stored: StoredSenderSession;
  problem: string;
  onPick(files: File[]): void;
  onDiscard(): void;
}) {
  // The message is kept with the transfer; only real files must be picked again.
  const names = props.stored.files.filter((file) => !isSnippet(file.type)).map((file) => file.name);
  return (
    <div class="notice warn" role="status" data-testid="live-resume">
      <p>
        This tab was sending {names.length === 1 ? "a file" : `${names.length} files`} (code{" "}
        {props.stored.session.code}) when it reloaded. Pick the same files again to go on where it
        stopped: {names.join(", ")}.
      </p>
      <input
        type="file"
        multiple
        data-testid="live-resume-input"
        onChange={(event) => props.onPick([...(event.currentTarget.files ?? [])])}
      />
      {props.problem && (
        <p class="error" role="alert" data-testid="live-resume-problem">{props.problem}</p>
      )}
      <button type="button" data-testid="live-resume-discard" onClick={props.onDiscard}>
        Send something else
      </button>
    </div>
  );
}

/** Live transfer on `/share`: pick files, get a code, link and QR, send peer to peer. */
export default function ShareLive(props: ShareLiveProps) {
  const [files, setFiles] = useState<File[]>([]);
  const [snippet, setSnippet] = useState("");
  const [shareLost, setShareLost] = useState(false);
  const [view, setView] = useState<SenderView>(emptyView());
  const sender = useRef<LiveSender | null>(null);
  const [resumable, setResumable] = useState<StoredSenderSession | null>(null);
  const [resumeProblem, setResumeProblem] = useState("");

  // A transfer this tab was sending before a reload: offer to go on with it.
  useEffect(() => setResumable(readStoredSend(globalThis.sessionStorage)), []);

  async function resume(files: File[]): Promise<void> {
    if (!resumable) return;
    sender.current?.dispose();
    const live = new LiveSender({
      fallbackTimeoutMs: props.fallbackTimeoutMs,
      maxUploadBytes: props.maxUploadBytes,
      iceTransportPolicy: icePolicy(),
      onChange: setView,
    });
    sender.current = live;
    const problem = await live.resume(resumable, files);
    setResumeProblem(problem ?? "");
    if (problem) return;
    setResumable(null);
  }

  function discardResume(): void {
    sessionStorage.removeItem(SENDER_STORAGE_KEY);
    setResumable(null);
  }

  useEffect(() => () => sender.current?.dispose(), []);
  // "Share → Switchboard" on a phone: the service worker kept the files; pick them here.
  useEffect(() => {
    void registerServiceWorker();
    // The worker was not there to keep them (first visit), or could not read the share.
    const outcome = new URLSearchParams(globalThis.location?.search ?? "").get("shared");
    if (outcome === "unavailable" || outcome === "failed") setShareLost(true);
    void takeSharedItems().then((shared) => {
      if (!shared) return;
      if (shared.files.length) setFiles(shared.files.slice(0, MAX_FILES - 1));
      const text = [shared.title, shared.text, shared.url].filter(Boolean).join("\n");
      if (text) setSnippet(text.slice(0, MAX_SNIPPET_CHARS));
    });
  }, []);

  function start(): void {
    sender.current?.dispose();
    const live = new LiveSender({
      fallbackTimeoutMs: props.fallbackTimeoutMs,
      maxUploadBytes: props.maxUploadBytes,
      iceTransportPolicy: icePolicy(),
      onChange: setView,
    });
    sender.current = live;
    const text = snippet.trim();
    void live.start(text ? [snippetFile(text), ...files] : files);
  }

  function startOver(): void {
    sender.current?.dispose();
    sender.current = null;
    setView(emptyView());
  }

  const { phase } = view;
  if (phase === "idle") {
    return (
      <div class="live-share" data-testid="live-share" data-phase="idle">
        {resumable && (
          <ResumePrompt
            stored={resumable}
            problem={resumeProblem}
            onPick={(picked) => void resume(picked)}
            onDiscard={discardResume}
          />
        )}
        {shareLost && (
          <p class="notice warn" role="status" data-testid="share-lost">
            The shared files did not reach this page (the app was not set up on this device yet).
            Pick them here, or share them again.
          </p>
        )}
        <Picker
          files={files}
          snippet={snippet}
          onFiles={setFiles}
          onSnippet={setSnippet}
          onStart={start}
        />
      </div>
    );
  }
  // The code stays useful while the server is unreachable, not once the session is closed.
  const waiting = phase === "signaling" ||
    (phase === "failed" && view.problem === "signaling" && !view.route);
  const moving = phase === "connected" || phase === "transferring" || phase === "done" ||
    view.bytes > 0 || view.route !== null;
  const ended = phase === "done" || phase === "failed" || phase === "canceled";
  return (
    <div
      class="live-share"
      data-testid="live-share"
      data-phase={phase}
      data-wire-bytes={view.wireBytes ?? 0}
    >
      <PhaseSteps phase={phase} />
      {waiting && <Pairing view={view} />}
      {phase === "connecting" && (
        <p class="connecting" data-testid="live-connecting" role="status">
          <span class="pulse" aria-hidden="true" />
          {view.reason || "The receiver accepted. Connecting to their browser…"}
          {view.code && <span class="muted">Code {view.code}</span>}
        </p>
      )}
      {view.reconnecting && !ended && (
        <p class="notice warn" role="status">Reconnecting to the server…</p>
      )}
      <RouteNote view={view} role="sender" />
      <PairingCheck
        view={view}
        actions={{
          confirm: () => sender.current?.confirmWords(),
          differ: () => sender.current?.wordsDiffer(),
        }}
      />
      {moving && <TransferProgress view={view} />}
      <FileRows view={view} role="sender" compact={!moving} />
      <Outcome
        view={view}
        onRetry={() => {
          if (!sender.current?.retry()) start();
        }}
        onStartOver={startOver}
      />
      {!ended && (
        <p class="actions">
          <button
            type="button"
            class="danger"
            data-testid="live-cancel"
            onClick={() => sender.current?.cancel()}
          >
            Cancel
          </button>
        </p>
      )}
    </div>
  );
}
