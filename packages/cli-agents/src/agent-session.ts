import { type AgentHealth, AgentState } from "@dispatch/wire";
import type { AgentConfig } from "./config.ts";
import { LineTracker } from "./line-tracker.ts";
import type { PaneCapture } from "./pane-capture.ts";
import type { SessionWatch } from "./session-watch.ts";

/**
 * Where a session is in its life: `starting` (spawned, not yet quiet), `idle` (ready, no turn),
 * `busy` (a turn's input is being answered, or a re-attached agent is still working), `respawning`
 * (crashed, waiting out its backoff), `exited` (its process ended between turns), `stopping` (sent
 * `C-c` on cancel; killed after the grace).
 */
export type SessionState = AgentState;

/** Every state, for metrics. */
export const sessionStates: readonly SessionState[] = AgentState.options;

/** What the health tick last found: `unknown` until it has looked (a re-attached session). */
export type SessionHealth = AgentHealth;

/** The tmux session name of a conversation's agent. */
export function sessionName(conversationId: string): string {
  return `dispatch-${conversationId}`;
}

/** What a session is created from. */
export interface AgentSessionInit {
  conversationId: string;
  workspaceId: string;
  hostId: string | null;
  agent: AgentConfig;
  state: SessionState;
  /** First line not yet reported (kept in tmux, so a re-attached session goes on where it was). */
  next?: number;
  spawned: boolean;
}

/**
 * One conversation's agent session, as the ticks and its turn see it. Only the supervisor and the
 * ticks write it; `GET /agents` gets a copy.
 */
export class AgentSession {
  readonly conversationId: string;
  readonly workspaceId: string;
  readonly hostId: string | null;
  readonly agent: AgentConfig;
  readonly name: string;
  readonly lines: LineTracker;
  #state: SessionState;
  #onState: ((from: SessionState, to: SessionState) => void) | undefined;
  health: SessionHealth = "unknown";
  /** Why `health` is not `ok` (an exit status, a crash pattern). */
  healthReason: string | undefined;
  /** Whether a tmux session exists for it (false until the first spawn). */
  spawned: boolean;
  /** Bumped by every spawn and respawn: a tick that looked before one has a stale view and skips it. */
  generation = 0;
  pid: number | null = null;
  /** When the screen last changed (epoch ms); the idle rule counts from here. */
  lastChangeAt: number;
  /** When the screen last changed, null before any output was seen. */
  lastOutputAt: number | null = null;
  hash: bigint | number | undefined;
  capture: PaneCapture | undefined;
  /** Bumped on every screen change; the health tick scans a screen once. */
  screenVersion = 0;
  scannedVersion = 0;
  /** The rows the last pattern scan saw: only rows not among them are scanned next time. */
  scannedRows = new Set<string>();
  /** Lines of the input pasted last: their echo on screen is not a crash pattern. */
  inputLines: string[] = [];
  /** The next tick reports its screen and lines even if unchanged (a turn just started watching). */
  forceReport = false;
  /** The process is known dead (the health tick saw it); cleared by a respawn. */
  dead = false;
  /** `next` as last stored in tmux. */
  persistedNext: number;
  /** While `stopping`: when the health tick kills the session. */
  killAt: number | undefined;
  /** Set when the host found this session at start-up; the next turn reports it. */
  reattached: { interruptedTurnId: string | undefined } | undefined;
  watch: SessionWatch | undefined;

  constructor(init: AgentSessionInit, now: number) {
    this.conversationId = init.conversationId;
    this.workspaceId = init.workspaceId;
    this.hostId = init.hostId;
    this.agent = init.agent;
    this.name = sessionName(init.conversationId);
    this.#state = init.state;
    this.spawned = init.spawned;
    this.lines = new LineTracker(init.next ?? 0);
    this.persistedNext = init.next ?? 0;
    this.lastChangeAt = now;
  }

  get state(): SessionState {
    return this.#state;
  }

  set state(to: SessionState) {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#onState?.(from, to);
  }

  /** Called on every state change (the table keeps its counts with it). */
  observe(onState: ((from: SessionState, to: SessionState) => void) | undefined): void {
    this.#onState = onState;
  }
}
