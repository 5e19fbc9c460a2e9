import { Layout } from "./Layout.tsx";
import { Island } from "./Island.tsx";
import LinkShare, { type LinkShareProps } from "../islands/LinkShare.tsx";
import ShareLive, { type ShareLiveProps } from "../islands/ShareLive.tsx";
import { ReceiveCodeForm } from "./ShareParts.tsx";

/**
 * `/share`: the ways to send a file, one tab each: live transfer (peer to peer,
 * the default) and link mode (upload now, download later). The tabs are plain
 * links to `#live` and `#link`, switched by CSS `:target`, so they work before
 * any script runs.
 */
export function SharePage(props: { link: LinkShareProps; live: ShareLiveProps }) {
  return (
    <Layout current="/share">
      <section class="hero compact">
        <h1>Share files</h1>
        <p class="lead">
          Send files straight to another browser with a six-character code, or upload an encrypted
          copy and share a link. Either way the server never sees what is inside.
        </p>
      </section>
      <nav class="mode-tabs" aria-label="Ways to share">
        <a href="#live" class="mode-tab mode-tab-live" data-testid="tab-live">
          Live transfer <span class="muted">peer to peer</span>
        </a>
        <a href="#link" class="mode-tab mode-tab-link" data-testid="tab-link">
          Send a link <span class="muted">upload now, download later</span>
        </a>
      </nav>
      <div class="share-modes share-panel-live" id="live">
        <section class="panel share-mode" id="live-mode" aria-labelledby="live-mode-title">
          <header class="share-mode-head">
            <h2 id="live-mode-title">Send live</h2>
            <span class="badge">Browser to browser</span>
          </header>
          <Island name="ShareLive" component={ShareLive} props={props.live} />
        </section>
        <aside class="share-side">
          <section class="panel share-receive" aria-labelledby="receive-title">
            <h2 id="receive-title">Receive</h2>
            <p class="muted">Got a code? Enter it here, or open the link you were sent.</p>
            <ReceiveCodeForm id="share-receive-code" />
          </section>
          <section class="panel share-help" aria-label="How live transfer works">
            <h2>How it works</h2>
            <ol>
              <li>Pick files. You get a code, a link and a QR code for the receiver.</li>
              <li>
                The receiver opens the link and accepts. The two browsers connect over WebRTC and
                the files travel directly, encrypted by DTLS, checked with SHA-256 on arrival.
              </li>
              <li>
                If the browsers cannot connect within{" "}
                {Math.round(props.live.fallbackTimeoutMs / 1000)}{" "}
                s, your browser encrypts the files and uploads them to the relay instead; the
                receiver's page downloads and decrypts them by itself.
              </li>
            </ol>
            <p class="muted">Keep this tab open until the receiver has everything.</p>
          </section>
        </aside>
      </div>
      <div class="share-modes share-panel-link" id="link">
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
