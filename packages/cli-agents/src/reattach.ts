import type { ConversationStore } from "@dispatch/conversation-store";
import { AgentSession, sessionName } from "./agent-session.ts";
import type { AgentConfig } from "./config.ts";
import type { SessionTable } from "./session-table.ts";
import type { TmuxClient } from "./tmux-client.ts";

/**
 * Start-up, for one tmux server: every `dispatch-*` session whose conversation still exists and
 * still names a configured agent is added to the table (watched again by the ticks, and reported to
 * the conversation's next turn); every other one is killed.
 */
export async function reattachHost(
  tmux: TmuxClient,
  store: Pick<ConversationStore, "conversations" | "turns">,
  configured: readonly AgentConfig[],
  table: SessionTable,
  hostId: string | null,
  now: () => number,
): Promise<{ reattached: number; killed: number }> {
  const agents = new Map(configured.map((a) => [a.id, a]));
  let reattached = 0;
  let killed = 0;
  for (const listed of await tmux.listSessions()) {
    if (!listed.name.startsWith("dispatch-")) continue;
    const conversationId = listed.name.slice("dispatch-".length);
    const conversation = await store.conversations.get(conversationId);
    const agent = agents.get(listed.options.agent ?? "");
    if (
      conversation === undefined ||
      agent === undefined ||
      conversation.runner !== `cli:${agent.id}` ||
      sessionName(conversationId) !== listed.name ||
      table.get(conversationId) !== undefined
    ) {
      await tmux.kill(listed.name);
      killed += 1;
      continue;
    }
    const turnId = listed.options.turn;
    const turn = turnId === undefined ? undefined : await store.turns.get(turnId);
    const next = Number(listed.options.next ?? "0");
    const session = new AgentSession(
      {
        conversationId,
        workspaceId: conversation.workspaceId,
        hostId,
        agent,
        state: "busy",
        spawned: true,
        next: Number.isFinite(next) ? next : 0,
      },
      now(),
    );
    session.reattached = { interruptedTurnId: turn?.status === "interrupted" ? turn.id : undefined };
    table.add(session);
    reattached += 1;
  }
  return { reattached, killed };
}
