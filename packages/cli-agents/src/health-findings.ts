import type { Logger } from "@dispatch/kernel";
import type { AgentSession } from "./agent-session.ts";
import { type HealthFindings, scanForCrash } from "./health-tick.ts";
import type { PaneCapture } from "./pane-capture.ts";
import type { PaneStatus } from "./tmux-client.ts";

/** What acting on a finding needs from the supervisor. */
export interface FindingsDeps {
  logger: Logger;
  counters: { crashed(agentId: string): void };
  forget(session: AgentSession): void;
  kill(session: AgentSession): Promise<void>;
}

/**
 * What the ticks' findings do to a session: a turn watching it is told (it decides what follows);
 * a session nobody watches is settled here (forgotten, marked exited, its crash counted).
 */
export function healthFindings(deps: FindingsDeps): HealthFindings {
  return {
    gone: (session) => {
      if (session.watch !== undefined) session.watch.post({ kind: "gone" });
      else {
        deps.logger.warn("agent session is gone", { session: session.name });
        deps.forget(session);
      }
    },
    exited: (session, pane) => {
      session.health = "exited";
      session.healthReason = exitReason(pane);
      if (session.watch !== undefined) {
        session.watch.post({ kind: "exited", exitStatus: pane.exitStatus, signal: pane.signal });
        return;
      }
      if (pane.exitStatus !== 0) deps.counters.crashed(session.agent.id);
      session.state = "exited";
    },
    crashed: (session, pattern) => {
      if (session.health === "crashed") return;
      session.health = "crashed";
      session.healthReason = `crash pattern "${pattern}" on screen`;
      if (session.watch !== undefined) session.watch.post({ kind: "crashed", pattern });
      else deps.counters.crashed(session.agent.id);
    },
    stop: (session) => {
      void deps.kill(session);
    },
  };
}

/**
 * Asked before a turn is told its agent went quiet: a dead pane is left for the health tick to
 * report, and the crash-pattern scan runs now, so a health tick that runs late (a loaded machine)
 * cannot let a crash pass for an answer.
 */
export function mayBeQuiet(
  findings: HealthFindings,
): (session: AgentSession, capture: PaneCapture) => boolean {
  return (session, capture) => {
    if (capture.dead || session.dead) return false;
    const pattern = scanForCrash(session);
    if (pattern === undefined) return true;
    findings.crashed(session, pattern);
    return false;
  };
}

function exitReason(pane: PaneStatus): string {
  if (pane.signal !== null) return `killed by signal ${pane.signal}`;
  return `exited with status ${pane.exitStatus ?? "unknown"}`;
}
