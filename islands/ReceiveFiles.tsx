import { useEffect, useRef, useState } from "preact/hooks";
import { formatBytes } from "../lib/link_client/display.ts";
import {
  type FolderLike,
  LiveReceiver,
  type ReceiverView,
} from "../lib/file_share/live_receiver.ts";
import { emptyView } from "../lib/file_share/view.ts";
import {
  FileRows,
  PhaseSteps,
  ReceiveCodeForm,
  RouteNote,
  TransferProgress,
} from "../components/ShareParts.tsx";
import { PairingCheck } from "../components/PairingCheck.tsx";
import { secretFromFragment } from "../lib/file_share/pairing/secret.ts";
import {
  checkSpace,
  estimateSpace,
  openReceiveStore,
  type ReceiveStore,
  type SpaceEstimate,
} from "../lib/file_share/storage/mod.ts";
import { zipFiles } from "../lib/file_share/zip.ts";

/** Props of the receive page `/r/:code`. */
export type ReceiveFilesProps = {
  /** The join code from the URL (upper case). */
  code: string;
  /** How long the sender waits for a direct connection before it uses the relay. */
  fallbackTimeoutMs: number;
};

type DirectoryPicker = (options?: { mode?: "readwrite" }) => Promise<FolderLike>;

function icePolicy(): RTCIceTransportPolicy {
  return new URLSearchParams(location.search).get("ice") === "relay" ? "relay" : "all";
}

function directoryPicker(): DirectoryPicker | null {
  const picker = (globalThis as { showDirectoryPicker?: DirectoryPicker }).showDirectoryPicker;
  return typeof picker === "function" ? picker.bind(globalThis) : null;
}

const PROBLEM_TITLES: Record<string, string> = {
  session_already_joined: "Already joined",
  session_not_found: "No such transfer",
  session_expired: "This transfer has expired",
  session_closed: "This transfer has ended",
  already_received: "Already received",
  pairing_mismatch: "Verification failed",
};

/** Where received bytes will live, as the page found out on load. */
interface StorageInfo {
  /** Files go to the OPFS (on disk), or stay in memory (Blob parts). */
  where: "disk" | "memory";
  estimate: SpaceEstimate | null;
}

function SpaceNote(props: { info: StorageInfo | null; needed: number }) {
  const { info, needed } = props;
  if (!info) return null;
  const space = checkSpace(needed, info.where === "disk" ? info.estimate : null);
  if (!space.fits) {
    return (
      <p class="notice error" role="alert" data-testid="receive-no-space">
        <strong>Not enough space.</strong> {space.message}
      </p>
    );
  }
  if (info.where === "memory") {
    return (
      <p class="notice warn" data-testid="receive-memory-warning">
        This browser cannot store files on disk for this page: the {formatBytes(needed)}{" "}
        will be kept in memory until you save them. Large transfers may make the browser slow or
        fail.
      </p>
    );
  }
  return (
    <p
      class="muted"
      data-testid="receive-space"
      data-available={space.availableBytes ?? ""}
    >
      {space.availableBytes === null
        ? "The files are stored in this browser until you save them."
        : `The files are stored in this browser until you save them: ${
          formatBytes(space.availableBytes)
        } available.`}
    </p>
  );
}

function Review(
  props: {
    view: ReceiverView;
    storage: StorageInfo | null;
    onAccept(folder?: FolderLike): void;
    onDecline(): void;
  },
) {
  const { view } = props;
  const [picker] = useState(directoryPicker);
  const count = view.files.length;
  // A folder on disk is not bound by the site's quota: only the page's own storage is checked.
  const fits = !props.storage || props.storage.where === "memory" ||
    checkSpace(view.totalBytes, props.storage.estimate).fits;
  async function acceptIntoFolder(): Promise<void> {
    if (!picker) return;
    try {
      props.onAccept(await picker({ mode: "readwrite" }));
    } catch {
      // The person closed the picker: nothing happens.
    }
  }
  return (
    <div class="review" data-testid="receive-review">
      <h2 class="review-title">
        {count} file{count === 1 ? "" : "s"}, {formatBytes(view.totalBytes)}
      </h2>
      <p class="muted">
        Someone wants to send you{" "}
        {count === 1 ? "this file" : "these files"}. They come straight from their browser to yours.
      </p>
      <FileRows view={view} role="receiver" compact />
      <SpaceNote info={props.storage} needed={view.totalBytes} />
      <p class="actions">
        {fits && (
          <button
            type="button"
            class="primary"
            data-testid="receive-accept"
            onClick={() => props.onAccept()}
          >
            Accept
          </button>
        )}
        {picker && (
          <button type="button" data-testid="receive-accept-folder" onClick={acceptIntoFolder}>
            Accept and save into a folder…
          </button>
        )}
        <button
          type="button"
          class="danger"
          data-testid="receive-decline"
          onClick={props.onDecline}
        >
          Decline
        </button>
      </p>
    </div>
  );
}

/** Every received file in one zip: a `blob:` URL for one download. */
async function zipAll(
  receiver: LiveReceiver,
  view: ReceiverView,
  store: ReceiveStore | null,
): Promise<string> {
  const entries = view.files.flatMap((file) => {
    const blob = receiver.fileBlob(file.index);
    return blob ? [{ name: file.name, blob }] : [];
  });
  const zip = await zipFiles(entries, store ? { writeStream: store.writeStream.bind(store) } : {});
  return URL.createObjectURL(zip);
}

function download(url: string, name: string): void {
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
}

/** The receive page: join by code, accept, and get the files peer to peer (or via the relay). */
export default function ReceiveFiles(props: ReceiveFilesProps) {
  const [view, setView] = useState<ReceiverView>({
    ...emptyView(),
    code: props.code,
    accepted: false,
    phase: "signaling",
  });
  const receiver = useRef<LiveReceiver | null>(null);
  const store = useRef<ReceiveStore | null>(null);
  const [storage, setStorage] = useState<StorageInfo | null>(null);
  const [zipping, setZipping] = useState(false);
  /** The zip, once made: a second "Save all" saves it again instead of making another. */
  const zipUrl = useRef<string | null>(null);
  const [slow, setSlow] = useState(false);

  useEffect(() => {
    let live: LiveReceiver | null = null;
    let left = false;
    void (async () => {
      // Where the bytes go is settled before the files can be accepted.
      const opened = await openReceiveStore();
      if (left) return;
      store.current = opened;
      void opened?.sweep();
      setStorage({ where: opened ? "disk" : "memory", estimate: await estimateSpace() });
      if (left) return;
      live = new LiveReceiver({
        code: props.code,
        // The join link's secret: read here, kept in the page, never sent anywhere.
        secret: secretFromFragment(location.hash),
        iceTransportPolicy: icePolicy(),
        fileStore: opened,
        onChange: setView,
      });
      receiver.current = live;
      void live.start();
    })();
    return () => {
      left = true;
      live?.dispose();
      if (zipUrl.current) URL.revokeObjectURL(zipUrl.current);
    };
  }, []);

  async function onSaveAll(): Promise<void> {
    if (!receiver.current || zipping) return;
    setZipping(true);
    try {
      zipUrl.current ??= await zipAll(receiver.current, view, store.current);
      download(zipUrl.current, `switchboard-${view.code}.zip`);
    } finally {
      setZipping(false);
    }
  }

  useEffect(() => {
    setSlow(false);
    if (view.phase !== "connecting") return;
    const timer = setTimeout(() => setSlow(true), props.fallbackTimeoutMs / 2);
    return () => clearTimeout(timer);
  }, [view.phase]);

  const { phase } = view;
  const joining = phase === "signaling" && view.files.length === 0 && !view.problem;
  const problem = phase === "failed" && view.problem;

  if (problem) {
    return (
      <div class="receive" data-testid="receive" data-phase={phase} data-problem={view.problem}>
        <div class="receive-problem" role="alert" data-testid="receive-problem">
          <h2>{PROBLEM_TITLES[view.problem!] ?? "Cannot join"}</h2>
          <p>{view.reason}</p>
        </div>
        <PairingCheck view={view} />
        <ReceiveCodeForm id="receive-other-code" />
      </div>
    );
  }

  const review = phase === "signaling" && !view.accepted && view.files.length > 0;
  const moving = phase === "connected" || phase === "transferring" || phase === "done" ||
    view.route !== null;
  const ended = phase === "done" || phase === "failed" || phase === "canceled";
  const saveable = view.files.filter((file) => file.url).length;
  return (
    <div
      class="receive"
      data-testid="receive"
      data-phase={phase}
      data-started-at={view.startedAt}
      data-finished-at={view.finishedAt}
      data-storage={storage?.where}
    >
      <div class="receive-head">
        <span class="code-box small" data-testid="receive-code">{view.code}</span>
        {!ended && (
          <span
            class={view.peer === "joined" ? "peer-status joined" : "peer-status"}
            data-testid="receive-peer"
            data-peer={view.peer}
          >
            <span class="pulse" aria-hidden="true" />
            {view.peer === "joined"
              ? "Sender online"
              : view.peer === "left"
              ? "Sender offline"
              : "Waiting for the sender"}
          </span>
        )}
      </div>
      {!review && !joining && <PhaseSteps phase={phase} />}
      {joining && (
        <p class="connecting" role="status" data-testid="receive-joining">
          <span class="pulse" aria-hidden="true" />
          Joining transfer {view.code}…
        </p>
      )}
      {review && (
        <Review
          view={view}
          storage={storage}
          onAccept={(folder) => receiver.current?.accept(folder)}
          onDecline={() => receiver.current?.decline()}
        />
      )}
      {phase === "connecting" && (
        <div class="connecting" role="status" data-testid="receive-connecting">
          <span class="pulse" aria-hidden="true" />
          <span>
            {view.reason || "Connecting to the sender's browser…"}
            {slow && (
              <span class="muted block">
                This is taking a while. If a direct connection is not possible, the sender switches
                to the relay by itself.
              </span>
            )}
          </span>
        </div>
      )}
      {view.toFolder && !ended && (
        <p class="muted">Saving into the folder “{view.toFolder}” as the files arrive.</p>
      )}
      {view.reconnecting && !ended && (
        <p class="notice warn" role="status">Reconnecting to the server…</p>
      )}
      <RouteNote view={view} role="receiver" />
      <PairingCheck view={view} />
      {moving && <TransferProgress view={view} />}
      {!review && <FileRows view={view} role="receiver" compact={!moving} />}
      {phase === "done" && (
        <div class="notice ok outcome" role="status" data-testid="receive-done">
          <strong>
            {view.files.some((file) => file.status === "failed")
              ? "Received, but some files arrived damaged and were not kept."
              : "All files received, checksums match."}
          </strong>{" "}
          {view.toFolder ? `They are in the folder “${view.toFolder}”.` : ""}
          {saveable > 1 && (
            <div class="actions">
              <button
                type="button"
                class="primary"
                data-testid="receive-save-all"
                disabled={zipping}
                onClick={onSaveAll}
              >
                {zipping ? "Making the zip…" : "Save all (zip)"}
              </button>
            </div>
          )}
        </div>
      )}
      {phase === "failed" && (
        <div class="notice error outcome" role="alert" data-testid="receive-failed">
          <strong>The transfer failed.</strong> {view.reason}
          <div class="actions">
            <button
              type="button"
              class="primary"
              data-testid="receive-retry"
              onClick={() =>
                receiver.current?.retry()}
            >
              Retry
            </button>
          </div>
        </div>
      )}
      {phase === "canceled" && (
        <div class="notice warn outcome" role="status" data-testid="receive-canceled">
          <strong>
            {view.canceledBy === "you"
              ? "You canceled the transfer."
              : "The transfer was canceled."}
          </strong>{" "}
          {view.canceledBy === "you" ? "" : view.reason}
        </div>
      )}
      {(phase === "canceled" || phase === "failed") && <ReceiveCodeForm id="receive-again-code" />}
      {!ended && !review && !joining && (
        <p class="actions">
          <button
            type="button"
            class="danger"
            data-testid="receive-cancel"
            onClick={() => receiver.current?.cancel()}
          >
            Cancel
          </button>
        </p>
      )}
    </div>
  );
}
