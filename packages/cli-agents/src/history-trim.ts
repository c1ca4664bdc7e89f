import type { AgentSession } from "./agent-session.ts";
import { clearHistoryCommand, historyLimit, optionCommands, type TmuxClient } from "./tmux-client.ts";

/**
 * Once a long session's history passes half of tmux's limit (and all of its lines were reported),
 * clears it, so absolute line numbers keep working: tmux drops the oldest lines at the limit.
 */
export async function trimHistory(
  tmuxFor: (hostId: string | null) => TmuxClient,
  session: AgentSession,
): Promise<void> {
  const capture = session.capture;
  if (capture === undefined || capture.historySize < historyLimit / 2) return;
  const next = Math.max(0, session.lines.next - capture.historySize);
  await tmuxFor(session.hostId).run(
    [clearHistoryCommand(session.name), ...optionCommands(session.name, { next: String(next) })],
    "clear history",
  );
  session.lines.reset(next);
  session.persistedNext = next;
  session.hash = undefined;
}
