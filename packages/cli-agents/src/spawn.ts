import { DispatchError } from "@dispatch/kernel";
import type { AgentSession } from "./agent-session.ts";
import type { TmuxClient } from "./tmux-client.ts";

/**
 * Starts a session's agent: a new tmux session in `cwd` the first time, else a respawn in the same
 * pane (killing a process that still runs). The command must be on PATH (checked here for local
 * workspaces, so a typo is a clear error rather than a pane that dies at once).
 */
export async function spawnAgent(
  tmux: TmuxClient,
  session: AgentSession,
  cwd: string,
  now: () => number,
): Promise<number | null> {
  const agent = session.agent;
  const spec = { cwd, command: agent.command, env: agent.env };
  const program = agent.command[0] as string;
  if (!(await tmux.transport.hasProgram(program, agent.env.PATH))) {
    const where = session.hostId === null ? "" : ` of host "${session.hostId}"`;
    throw new DispatchError(
      "agent_spawn_failed",
      `the command "${program}" of CLI agent "${agent.id}" is not on the PATH${where}; fix cliAgents[].command or install it`,
    );
  }
  await tmux.transport.mkdirp(cwd);
  let pid: number | null;
  if (!session.spawned) {
    const options = {
      conversation: session.conversationId,
      workspace: session.workspaceId,
      agent: agent.id,
      next: "0",
    };
    const size = { cols: agent.cols, rows: agent.rows };
    // a session left by a kill that failed would make new-session refuse the name
    await tmux.kill(session.name);
    pid = await tmux.newSession(session.name, spec, size, options);
    session.spawned = true;
  } else pid = await tmux.respawn(session.name, spec);
  reset(session, pid, now);
  return pid;
}

/** A fresh process is a new generation: what the ticks knew of the old one no longer holds. */
function reset(session: AgentSession, pid: number | null, now: () => number): void {
  session.generation += 1;
  session.pid = pid;
  session.dead = false;
  session.health = "ok";
  session.healthReason = undefined;
  session.lines.reset(0);
  session.persistedNext = 0;
  session.hash = undefined;
  session.capture = undefined;
  session.scannedRows = new Set();
  session.lastChangeAt = now();
  session.state = "starting";
}
