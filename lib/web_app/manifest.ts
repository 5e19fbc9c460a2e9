/** Where the share target posts (the service worker answers it; see `service_worker.ts`). */
export const SHARE_TARGET_ACTION = "/share/receive";

/** The multipart field names of a share (the manifest's `share_target.params`). */
export const SHARE_FIELDS = { title: "title", text: "text", url: "url", files: "files" } as const;

/** One icon of the manifest. */
export interface ManifestIcon {
  src: string;
  sizes: string;
  type: string;
  purpose?: string;
}

/** The web app manifest Switchboard serves (the members it uses). */
export interface WebAppManifest {
  id: string;
  name: string;
  short_name: string;
  description: string;
  start_url: string;
  scope: string;
  display: "standalone";
  theme_color: string;
  background_color: string;
  icons: ManifestIcon[];
  share_target: {
    action: string;
    method: "POST";
    enctype: "multipart/form-data";
    params: {
      title: string;
      text: string;
      url: string;
      files: { name: string; accept: string[] }[];
    };
  };
}

/**
 * `/manifest.webmanifest`: makes Switchboard installable (standalone window,
 * icons, theme) and a target of the system share sheet: "Share → Switchboard"
 * posts the files and text to {@linkcode SHARE_TARGET_ACTION}, where the
 * service worker keeps them for `/share`.
 */
export function webAppManifest(): WebAppManifest {
  return {
    id: "/",
    name: "Switchboard",
    short_name: "Switchboard",
    description: "Peer-to-peer file transfer, notifications and chat.",
    start_url: "/",
    scope: "/",
    display: "standalone",
    theme_color: "#1f6feb",
    background_color: "#f6f7f9",
    icons: [
      { src: "/static/icon-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
      { src: "/static/icon-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
      {
        src: "/static/icon-maskable-512.png",
        sizes: "512x512",
        type: "image/png",
        purpose: "maskable",
      },
      { src: "/static/favicon.svg", sizes: "any", type: "image/svg+xml", purpose: "any" },
    ],
    share_target: {
      action: SHARE_TARGET_ACTION,
      method: "POST",
      enctype: "multipart/form-data",
      params: {
        ...SHARE_FIELDS,
        files: [{ name: SHARE_FIELDS.files, accept: ["*/*"] }],
      },
    },
  };
}

/**
 * What keeps a manifest from making an installable app with a share target,
 * as Chromium and the W3C spec read it: names, a `start_url` inside `scope`,
 * `display`, a 192 and a 512 px PNG icon, theme colors, and a POST multipart
 * share target with a files field. Empty when nothing does.
 *
 * @example
 * ```ts
 * manifestProblems(webAppManifest()); // []
 * ```
 */
export function manifestProblems(
  parsed: object,
  origin = "https://app.example",
): string[] {
  const manifest = parsed as Record<string, unknown>;
  const problems: string[] = [];
  const text = (name: string) => {
    const value = manifest[name];
    if (typeof value !== "string" || value.trim() === "") problems.push(`${name} is missing`);
    return typeof value === "string" ? value : "";
  };
  text("name");
  text("short_name");
  const start = new URL(text("start_url") || "/", origin);
  const scope = new URL(text("scope") || "/", origin);
  if (start.origin !== origin || !start.pathname.startsWith(scope.pathname)) {
    problems.push("start_url must be inside scope, on the same origin");
  }
  if (!["standalone", "fullscreen", "minimal-ui"].includes(String(manifest.display))) {
    problems.push("display must be standalone, fullscreen or minimal-ui");
  }
  for (const color of ["theme_color", "background_color"]) {
    if (!/^#[0-9a-f]{6}$/i.test(String(manifest[color] ?? ""))) {
      problems.push(`${color} is missing`);
    }
  }
  const icons = Array.isArray(manifest.icons) ? manifest.icons as ManifestIcon[] : [];
  for (const size of ["192x192", "512x512"]) {
    const fits = icons.some((icon) =>
      icon.type === "image/png" && icon.sizes?.split(" ").includes(size) &&
      (icon.purpose ?? "any").split(" ").includes("any")
    );
    if (!fits) problems.push(`no ${size} PNG icon with purpose "any"`);
  }
  const share = manifest.share_target as WebAppManifest["share_target"] | undefined;
  if (!share) {
    problems.push("share_target is missing");
  } else {
    if (share.method !== "POST" || share.enctype !== "multipart/form-data") {
      problems.push("share_target must POST multipart/form-data to take files");
    }
    if (new URL(share.action, origin).origin !== origin) {
      problems.push("share_target.action must be on the same origin");
    }
    if (!share.params?.files?.length || !share.params.files.every((file) => file.name)) {
      problems.push("share_target.params.files is missing");
    }
  }
  return problems;
}
