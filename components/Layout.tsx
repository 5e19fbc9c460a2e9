import type { ComponentChildren } from "preact";

const NAV = [
  { href: "/share", label: "Share files" },
  { href: "/notifications", label: "Notifications" },
  { href: "/chat/lobby", label: "Chat" },
  { href: "/docs", label: "API" },
  { href: "/admin", label: "Admin" },
];

/** The shared page frame: header with navigation, main content, footer. */
export function Layout(props: { children: ComponentChildren; current?: string }) {
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
