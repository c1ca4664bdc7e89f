import { createServiceRef } from "@dispatch/kernel";
import type { SessionState } from "./agent-session.ts";
import type { AgentInfo, AgentInput } from "./supervisor.ts";

/** What the cli-agents extension offers other extensions (and tests). */
export interface CliAgentsService {
  /** The tmux version found at start-up, or undefined (see `unavailable`). */
  readonly tmuxVersion: string | undefined;
  /** Why CLI agents cannot run, when they cannot. */
  readonly unavailable: string | undefined;
  /** Every agent session, as copies. */
  list(): AgentInfo[];
  /** Sends raw input to a conversation's live session; `conflict` when it has none. */
  input(conversationId: string, input: AgentInput): Promise<void>;
  /** Sizes of the session table and the attempt records, and the live timers (leak checks). */
  stats(): { sessions: number; attempts: number; timers: number; byState: Record<SessionState, number> };
}

/** The service ref of the cli-agents extension. */
export const cliAgentsRef = createServiceRef<CliAgentsService>("cli-agents");
