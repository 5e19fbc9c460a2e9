import { Hono } from "hono";
import type { AppContext } from "../lib/context.ts";
import { Layout } from "../components/Layout.tsx";
import { Island } from "../components/Island.tsx";
import { renderPage } from "../components/render_page.tsx";
import QuickStart from "../islands/QuickStart.tsx";
import { linkOrigin } from "./_http.ts";

/** An HTML error page in the shared layout. */
export function renderErrorPage(ctx: AppContext, status: number, message: string): string {
  return renderPage({
    title: `${status} · Switchboard`,
    manifest: ctx.manifest,
    body: (
      // Error pages stay static (no script): no bell.
      <Layout bell={false}>
        <section class="error-page">
          <p class="error-status">{status}</p>
          <h1>{message}</h1>
          <p>
            <a class="button" href="/">Back to the start page</a>
          </p>
        </section>
      </Layout>
    ),
  });
}

function Landing(props: { origin: string }) {
  return (
    <Layout current="/">
      <section class="hero">
        <h1>Realtime for files, notifications and chat.</h1>
        <p class="lead">
          Switchboard is one small Deno service with three jobs: send files browser to browser with
          a six-character code, push notifications to every tab of a user, and run chat channels
          with history and presence. Everything flows through ordered topics in Deno KV, so a client
          that drops off resumes exactly where it left.
        </p>
        <p class="actions">
          <a class="button primary" href="/share">Send a file</a>
          <a class="button" href="/notifications">Try notifications</a>
          <a class="button" href="/chat/lobby">Open the lobby chat</a>
        </p>
      </section>
      <section class="cards" aria-label="What it does">
        <article class="card">
          <h2>Live transfer</h2>
          <p>
            Peer-to-peer over WebRTC, paired by a code, link or QR code. If the browsers cannot
            reach each other, the file goes through an encrypted link instead, automatically.
          </p>
          <a href="/share">Share files →</a>
        </article>
        <article class="card">
          <h2>Notifications</h2>
          <p>
            Typed JSON from your backend to every device of a user over WebSocket or SSE, with
            acknowledgements, retries, read state, history and an audit log.
          </p>
          <a href="/notifications">Open the bell →</a>
        </article>
        <article class="card">
          <h2>Chat channels</h2>
          <p>
            Stored and broadcast messages, typing and presence, permissions, and replay of exactly
            what a client missed.
          </p>
          <a href="/chat/lobby">Join the lobby →</a>
        </article>
      </section>
      <section class="quick-start">
        <h2>Try it from a terminal</h2>
        <Island name="QuickStart" component={QuickStart} props={{ origin: props.origin }} />
      </section>
    </Layout>
  );
}

/** Server-rendered pages. */
export function pageRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  app.get("/", (c) =>
    c.html(renderPage({
      title: "Switchboard",
      manifest: ctx.manifest,
      // The examples name this server; behind an unknown Host they name the local one.
      body: <Landing origin={linkOrigin(ctx, c) ?? `http://localhost:${ctx.config.PORT}`} />,
    })));
  return app;
}
