import type { TransferView } from "../lib/file_share/view.ts";

/** What the sender's page can do about the words (only while it waits for them). */
export interface WordsActions {
  /** The words match: start sending. */
  confirm(): void;
  /** The words differ: stop with the warning. */
  differ(): void;
}

/**
 * What both share pages show of their pairing: the words to compare ("Both
 * screens should show the same words"), "Verified" when the link's secret let
 * the pages check each other, and a warning when they could not. Without the
 * secret nothing moves until the sender confirms the words: the sender's page
 * (given `actions`) asks for it, the receiver's says it waits.
 */
export function PairingCheck(props: { view: TransferView; actions?: WordsActions }) {
  const { view, actions } = props;
  const { sas, pairing } = view;
  if (pairing === "mismatch") {
    return (
      <div class="notice error pairing-check" role="alert" data-testid="pairing-mismatch">
        <strong>Verification failed.</strong>{" "}
        The two pages do not hold the same keys: someone may be in between. The transfer was stopped
        and nothing was saved. Start again, ideally through a link you pass on another way.
      </div>
    );
  }
  if (!sas && pairing !== "verified") return null;
  const waiting = view.awaitingWords === true && pairing !== "verified";
  return (
    <div class="pairing-check" data-testid="pairing-check" data-pairing={pairing ?? ""}>
      {pairing === "verified" && (
        <span class="badge pairing-verified" data-testid="pairing-verified">
          Verified
        </span>
      )}
      {sas && (
        <>
          <span class="sas" data-testid="pairing-sas">{sas.join(" ")}</span>
          <span class="muted">
            Both screens should show the same words.
            {pairing === "verified"
              ? " The pages already checked it for you."
              : " Compare them with the other person; if they differ, cancel."}
          </span>
        </>
      )}
      {waiting && sas && actions && (
        <div class="notice warn" role="status" data-testid="pairing-confirm-words">
          <p>
            Nothing is sent until you confirm the words. If you sent the link, the receiver should
            have been verified automatically: compare the words by voice or another channel before
            sending.
          </p>
          <div class="actions">
            <button
              type="button"
              class="primary"
              data-testid="pairing-words-match"
              onClick={actions.confirm}
            >
              The words match — send
            </button>
            <button type="button" data-testid="pairing-words-differ" onClick={actions.differ}>
              They differ
            </button>
          </div>
        </div>
      )}
      {waiting && sas && !actions && (
        <p class="muted" role="status" data-testid="pairing-waiting-words">
          Waiting for the sender to compare the words.
        </p>
      )}
    </div>
  );
}
