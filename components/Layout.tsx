import type { ComponentChildren } from "preact";
import { Island } from "./Island.tsx";
import NotificationBell from "../islands/NotificationBell.tsx";

const NAV = [
  { href: "/share", label: "Share files" },
  { href: "/notifications", label: "Notifications" },
  { href: "/chat/lobby", label: "Chat" },
  { href: "/docs", label: "API" },
  { href: "/admin", label: "Admin" },
];

/**
 * The shared page frame: header with navigation and the notification bell (shown
 * once the visitor has an identity), main content, footer. `bell: false` for a
 * page that shows a bell of its own (`/notifications`).
 */
export function Layout(
  props: { children: ComponentChildren; current?: string; bell?: boolean },
) {
  return (
    <div class="page">
      <header class="site-header">
        <a class="brand" href="/">
          <span class="brand-mark" aria-hidden="true">⇄</span> Switchboard
        </a>
        <nav aria-label="Main">
          {NAV.map((item) => (
            <a href={item.href} aria-current={props.current === item.href ? "page" : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        {props.bell !== false && (
          <div class="site-bell">
            <Island
              name="NotificationBell"
              component={NotificationBell}
              props={{ onlyWithIdentity: true }}
            />
          </div>
        )}
      </header>
      <main>{props.children}</main>
      <footer class="site-footer">
        <span>Switchboard: live transfer, notifications and chat on Deno KV.</span>
        <a href="/healthz">Health</a>
        <a href="/metrics">Metrics</a>
        <a href="/docs">API reference</a>
      </footer>
    </div>
  );
}
