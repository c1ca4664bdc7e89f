import type { AgentSession } from "./agent-session.ts";
import type { PaneCapture } from "./pane-capture.ts";
import { optionCommands, type TmuxClient } from "./tmux-client.ts";

/** Most history lines one follow-up capture reads back per pane; more than that are reported as skipped. */
const maxHistoryRead = 10_000;

/** A session as a tick found it: a later spawn or respawn (a new generation) makes the tick's view stale. */
export interface Sighting {
  session: AgentSession;
  generation: number;
}

/**
 * One capture tick for the sessions of one tmux server: every pane in one tmux call, each screen
 * hashed and compared with the last one. An unchanged pane costs its share of that call, a hash and
 * the idle check; a changed one is reported to the turn watching it, with its new complete lines
 * (read back from the history in one more call for all panes whose lines scrolled past between
 * ticks). Returns the sessions tmux could not capture (gone; the health tick confirms it).
 */
export async function captureHost(
  tmux: TmuxClient,
  sightings: readonly Sighting[],
  now: () => number,
  isCurrent: (sighting: Sighting) => boolean,
  mayBeQuiet: (session: AgentSession, capture: PaneCapture) => boolean = () => true,
): Promise<AgentSession[]> {
  const missing: AgentSession[] = [];
  const needHistory: Sighting[] = [];
  let remaining = [...sightings];
  while (remaining.length > 0) {
    const byName = new Map(remaining.map((s) => [s.session.name, s]));
    const persisting = new Map<string, number>();
    const { captures, failed } = await tmux.captureMany(
      remaining.map((s) => s.session.name),
      () => 0,
      (name) => {
        const session = byName.get(name)?.session;
        if (session === undefined || session.lines.next === session.persistedNext) return [];
        persisting.set(name, session.lines.next);
        return optionCommands(name, { next: String(session.lines.next) });
      },
    );
    const at = now();
    for (const capture of captures) {
      const sighting = byName.get(capture.name);
      if (sighting === undefined) continue;
      const stored = persisting.get(capture.name);
      if (stored !== undefined) sighting.session.persistedNext = stored;
      if (!isCurrent(sighting)) continue;
      if (observe(sighting.session, capture, at, mayBeQuiet) === "history") needHistory.push(sighting);
    }
    if (failed === undefined) break;
    const failedAt = remaining.findIndex((s) => s.session.name === failed);
    const gone = remaining[failedAt];
    if (gone !== undefined) missing.push(gone.session);
    remaining = failedAt < 0 ? [] : remaining.slice(failedAt + 1);
  }
  if (needHistory.length > 0) await readHistory(tmux, needHistory, isCurrent);
  return missing;
}

/**
 * Reads back the lines that scrolled past, for the panes that need it: all in one call, with a
 * screen's worth of slack for lines written since the tick's capture. A pane that wrote even more
 * in between is read again on its own with what the last capture showed it needs (a few times at
 * most; what is still out of reach then is reported as skipped).
 */
async function readHistory(
  tmux: TmuxClient,
  sightings: readonly Sighting[],
  isCurrent: (sighting: Sighting) => boolean,
): Promise<void> {
  const want = new Map<string, number>();
  const byName = new Map<string, Sighting>();
  for (const sighting of sightings) {
    const { session } = sighting;
    const capture = session.capture;
    if (capture === undefined) continue;
    byName.set(session.name, sighting);
    want.set(session.name, session.lines.historyNeeded(capture) + capture.height);
  }
  for (let pass = 0; pass < 4 && want.size > 0; pass++) {
    const lines = (name: string) => Math.min(maxHistoryRead, want.get(name) ?? 0);
    const { captures } = await tmux.captureMany([...want.keys()], lines);
    want.clear();
    for (const capture of captures) {
      const sighting = byName.get(capture.name);
      if (sighting === undefined || !isCurrent(sighting)) continue;
      const { session } = sighting;
      const short = capture.firstLine - session.lines.next;
      if (short > 0 && pass < 3 && lines(capture.name) < maxHistoryRead) {
        want.set(capture.name, lines(capture.name) + short + capture.height * 2 ** (pass + 1));
        continue;
      }
      report(session, capture);
    }
  }
}

/**
 * Takes one capture into the session: unchanged screens only feed the idle rule; changed ones move
 * the session's clock and, when a turn watches it, go to that turn with their new lines. Returns
 * `history` when the new lines reach back past the captured rows. `mayBeQuiet` has the last word
 * before a turn is told its agent is quiet (a dead or crashed agent is not done, it crashed).
 */
function observe(
  session: AgentSession,
  capture: PaneCapture,
  now: number,
  mayBeQuiet: (session: AgentSession, capture: PaneCapture) => boolean,
): "done" | "history" {
  const hash = Bun.hash(capture.text);
  const changed = hash !== session.hash;
  if (changed) {
    session.hash = hash;
    session.lastChangeAt = now;
    session.lastOutputAt = now;
    session.screenVersion += 1;
    if (session.watch?.expectQuiet !== undefined) session.watch.expectQuiet.changed = true;
  }
  session.capture = capture;
  const watch = session.watch;
  if (watch === undefined) {
    // nobody waits for a re-attached or fresh agent: it is idle once it has been still long enough
    if (!changed && (session.state === "busy" || session.state === "starting") && quietFor(session, now))
      session.state = "idle";
    return "done";
  }
  if (changed || session.forceReport) {
    if (session.lines.historyNeeded(capture) > 0) return "history";
    report(session, capture);
    return "done";
  }
  const expect = watch.expectQuiet;
  if (
    expect !== undefined &&
    (!expect.afterChange || expect.changed) &&
    quietFor(session, now) &&
    mayBeQuiet(session, capture)
  ) {
    watch.expectQuiet = undefined;
    watch.post({ kind: "quiet" });
  }
  return "done";
}

/** Sends a changed screen and its new lines to the watching turn. */
function report(session: AgentSession, capture: PaneCapture): void {
  session.capture = capture;
  session.forceReport = false;
  const { lines, skipped } = session.lines.take(capture);
  session.watch?.post({ kind: "output", capture, lines, skipped });
}

/** True when the screen has not changed for the agent's `idleMs`. */
export function quietFor(session: AgentSession, now: number): boolean {
  return now - session.lastChangeAt >= session.agent.idleMs;
}
