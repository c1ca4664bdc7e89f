import type { AgentSession } from "./agent-session.ts";
import type { Sighting } from "./capture-tick.ts";
import { rowsOf } from "./pane-capture.ts";
import type { PaneStatus, TmuxClient } from "./tmux-client.ts";

/** What the health tick found, handed to the supervisor (which knows whether a turn is watching). */
export interface HealthFindings {
  /** The tmux session no longer exists. */
  gone(session: AgentSession): void;
  /** The agent's process ended. */
  exited(session: AgentSession, pane: PaneStatus): void;
  /** A crash pattern appeared in new screen rows. */
  crashed(session: AgentSession, pattern: string): void;
  /** A `stopping` session's grace is over (or its process already ended): kill it. */
  stop(session: AgentSession): void;
}

/**
 * One health tick for the sessions of one tmux server: one `list-panes` call for all of them, then
 * per session the dead-pane and gone checks, a crash-pattern scan of the screen rows that are new
 * since the last scan, the end of a cancel's grace, and a due respawn backoff.
 */
export async function checkHost(
  tmux: TmuxClient,
  sightings: readonly Sighting[],
  now: () => number,
  isCurrent: (sighting: Sighting) => boolean,
  findings: HealthFindings,
): Promise<void> {
  const panes = await tmux.listPanes();
  const at = now();
  for (const sighting of sightings) {
    if (!isCurrent(sighting)) continue;
    const { session } = sighting;
    const pane = panes.get(session.name);
    if (pane === undefined) {
      findings.gone(session);
      continue;
    }
    if (pane.pid !== null) session.pid = pane.pid;
    if (session.state === "stopping") {
      if (pane.dead || at >= (session.killAt ?? 0)) findings.stop(session);
      continue;
    }
    if (pane.dead && !session.dead) {
      session.dead = true;
      findings.exited(session, pane);
    } else if (!pane.dead) {
      const pattern = scanForCrash(session);
      if (pattern !== undefined) findings.crashed(session, pattern);
    }
    const watch = session.watch;
    if (watch?.wakeAt !== undefined && at >= watch.wakeAt) {
      watch.wakeAt = undefined;
      watch.post({ kind: "due" });
    }
  }
}

/**
 * The first crash pattern in screen rows that were not on screen at the last scan (so a crash
 * message still showing from before is not found twice), ignoring the echo of the input just sent.
 */
export function scanForCrash(session: AgentSession): string | undefined {
  const capture = session.capture;
  const patterns = session.agent.crashPatterns;
  if (capture === undefined || session.scannedVersion === session.screenVersion) return undefined;
  session.scannedVersion = session.screenVersion;
  const rows = rowsOf(capture);
  const seen = session.scannedRows;
  session.scannedRows = new Set(rows);
  if (patterns.length === 0) return undefined;
  for (const row of rows) {
    if (row === "" || seen.has(row)) continue;
    let text = row;
    for (const input of session.inputLines) if (input !== "") text = text.replaceAll(input, "");
    const found = patterns.find((pattern) => text.includes(pattern));
    if (found !== undefined) return found;
  }
  return undefined;
}
