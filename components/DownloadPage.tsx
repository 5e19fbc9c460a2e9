import { Layout } from "./Layout.tsx";
import { Island } from "./Island.tsx";
import DownloadFile, { type DownloadFileProps } from "../islands/DownloadFile.tsx";

/** `/d/:id`: the download page of link mode. */
export function DownloadPage(props: { file: DownloadFileProps }) {
  return (
    <Layout>
      <section class="download-page">
        <div class="panel">
          <Island name="DownloadFile" component={DownloadFile} props={props.file} />
        </div>
        <p class="muted download-foot">
          Shared with Switchboard link mode. <a href="/share">Send a file yourself →</a>
        </p>
      </section>
    </Layout>
  );
}
