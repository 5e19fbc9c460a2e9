import { Layout } from "./Layout.tsx";
import { Island } from "./Island.tsx";
import LinkShare, { type LinkShareProps } from "../islands/LinkShare.tsx";

/**
 * `/share`: the ways to send a file, one section each. Link mode (upload now,
 * download later) is here; live transfer (peer-to-peer) gets a section of the
 * same shape beside it.
 */
export function SharePage(props: { link: LinkShareProps }) {
  return (
    <Layout current="/share">
      <section class="hero compact">
        <h1>Share files</h1>
        <p class="lead">
          Upload a file and send the link. It is encrypted in your browser first, so the server
          stores only ciphertext, and it disappears when the link expires.
        </p>
      </section>
      <div class="share-modes">
        <section class="panel share-mode" id="link-mode" aria-labelledby="link-mode-title">
          <header class="share-mode-head">
            <h2 id="link-mode-title">Send a link</h2>
            <span class="badge">Upload now, download later</span>
          </header>
          <Island name="LinkShare" component={LinkShare} props={props.link} />
        </section>
        <aside class="panel share-help" aria-label="How link mode works">
          <h2>How it works</h2>
          <ol>
            <li>Your browser encrypts the file and its name with a fresh AES-256-GCM key.</li>
            <li>The ciphertext is uploaded and stored in chunks; the key stays in the link.</li>
            <li>
              The recipient's browser downloads, decrypts and verifies every chunk before saving.
            </li>
          </ol>
          <p class="muted">
            Links expire after the time you choose (at most a day) or after the download limit.
            Scripts can use the same API:{" "}
            <code>curl -H "X-Filename: a.pdf" --data-binary @a.pdf …/api/upload</code>.
          </p>
        </aside>
      </div>
    </Layout>
  );
}
