import type { TransferView } from "../lib/file_share/view.ts";

/**
 * What both share pages show of their pairing: the words to compare ("Both
 * screens should show the same words"), "Verified" when the link's secret let
 * the pages check each other, and a warning when they could not.
 */
export function PairingCheck(props: { view: TransferView }) {
  const { sas, pairing } = props.view;
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
    </div>
  );
}
