/**
 * The receive pages of live transfer: `/r/:code` (the join link a sender
 * shares and its QR code lead here) and `/r?code=` (the code box's plain form,
 * redirected to `/r/<CODE>`). The send side lives on `/share` (routes/link.ts).
 */
import { Hono } from "hono";
import type { AppContext } from "../lib/context.ts";
import { normalizeCode } from "../lib/transfer/mod.ts";
import { ReceivePage } from "../components/ReceivePage.tsx";
import { renderPage } from "../components/render_page.tsx";
import type { ShareLiveProps } from "../islands/ShareLive.tsx";
import { renderErrorPage } from "./pages.tsx";

/** The live-transfer island's props on `/share`, from configuration. */
export function liveShareProps(ctx: AppContext): ShareLiveProps {
  return {
    fallbackTimeoutMs: ctx.config.FALLBACK_TIMEOUT_MS,
    maxUploadBytes: ctx.config.MAX_UPLOAD_BYTES,
  };
}

/** `GET /r/:code` and `GET /r?code=`. */
export function sharePageRoutes(ctx: AppContext): Hono {
  const app = new Hono();

  app.get("/r", (c) => {
    const code = normalizeCode(c.req.query("code") ?? "");
    if (!code) {
      return c.html(
        renderErrorPage(ctx, 404, "That is not a transfer code: codes have six letters and digits"),
        404,
      );
    }
    return c.redirect(`/r/${code}`, 302);
  });

  app.get("/r/:code", (c) => {
    const code = normalizeCode(c.req.param("code"));
    if (!code) return c.html(renderErrorPage(ctx, 404, "No transfer has this code"), 404);
    if (code !== c.req.param("code")) return c.redirect(`/r/${code}`, 301);
    // Joining happens in the browser (the island), so link previews never use up a code.
    c.header("Cache-Control", "no-store");
    return c.html(renderPage({
      title: `Receive ${code} · Switchboard`,
      description: "Someone is sending you files, browser to browser.",
      manifest: ctx.manifest,
      body: ReceivePage({
        receive: { code, fallbackTimeoutMs: ctx.config.FALLBACK_TIMEOUT_MS },
      }),
    }));
  });

  return app;
}
