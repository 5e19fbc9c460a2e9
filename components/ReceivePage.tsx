import { Layout } from "./Layout.tsx";
import { Island } from "./Island.tsx";
import ReceiveFiles, { type ReceiveFilesProps } from "../islands/ReceiveFiles.tsx";

/** `/r/:code`: the receive page of a live transfer (the join link and the QR code lead here). */
export function ReceivePage(props: { receive: ReceiveFilesProps }) {
  return (
    <Layout>
      <section class="receive-page">
        <header class="receive-page-head">
          <h1>Receive files</h1>
          <span class="badge">Browser to browser</span>
        </header>
        <div class="panel">
          <Island name="ReceiveFiles" component={ReceiveFiles} props={props.receive} />
        </div>
        <p class="muted download-foot">
          Sent with Switchboard live transfer: browser to browser when possible, through an
          encrypted relay when not; every file is checked on arrival.{" "}
          <a href="/share">Send files yourself →</a>
        </p>
      </section>
    </Layout>
  );
}
