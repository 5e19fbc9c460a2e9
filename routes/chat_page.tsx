import type { AppContext } from "../lib/context.ts";
import { Layout } from "../components/Layout.tsx";
import { Island } from "../components/Island.tsx";
import { renderPage } from "../components/render_page.tsx";
import ChatRoom from "../islands/ChatRoom.tsx";

/** The `/chat/:channelId` page: the shared layout around the chat island. */
export function renderChatPage(ctx: AppContext, channelId: string): string {
  return renderPage({
    title: `#${channelId} · Switchboard chat`,
    description: `Chat in #${channelId}: messages with history, presence and typing.`,
    manifest: ctx.manifest,
    body: (
      <Layout current="/chat/lobby">
        <Island name="ChatRoom" component={ChatRoom} props={{ channelId }} />
      </Layout>
    ),
  });
}
