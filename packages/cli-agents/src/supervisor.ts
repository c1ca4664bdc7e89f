import type { ConversationStore } from "@dispatch/conversation-store";
import { type CancelTimer, DispatchError, type Logger, messageOf } from "@dispatch/kernel";
import type { AgentInfo, AgentInputBody } from "@dispatch/wire";
import { AgentSession, sessionName } from "./agent-session.ts";
import { AttemptRecords } from "./attempts.ts";
import { captureHost, type Sighting } from "./capture-tick.ts";
import type { AgentConfig, CliAgentsSettings } from "./config.ts";
import { checkHost, type HealthFindings, scanForCrash } from "./health-tick.ts";
import type { PaneCapture } from "./pane-capture.ts";
import { SessionTable } from "./session-table.ts";
import { SessionWatch } from "./session-watch.ts";
import {
  clearHistoryCommand,
  historyLimit,
  optionCommands,
  type PaneStatus,
  type TmuxClient,
} from "./tmux-client.ts";

/** One agent session as `GET /agents` lists it (a copy; nothing in it is live). */
export type { AgentInfo } from "@dispatch/wire";

/** What `POST /conversations/:id/input` sends: literal text (pasted) or tmux key names. */
export type AgentInput = AgentInputBody;

/** Counters the supervisor reports into (metrics). */
export interface SupervisorCounters {
  crashed(agentId: string): void;
  respawned(agentId: string): void;
  captureTick(seconds: number): void;
}

/** What the supervisor is built from. */
export interface SupervisorDeps {
  settings: CliAgentsSettings;
  /** The tmux server of a host (`null`: this machine); throws a DispatchError when there is none. */
  tmuxFor(hostId: string | null): TmuxClient;
  logger: Logger;
  counters: SupervisorCounters;
  /** Starts a repeating timer owned by the caller's extension (`ctx.setInterval`). */
  schedule(fn: () => Promise<void>, ms: number): CancelTimer;
  onFault(kind: string, error: unknown): void;
  now?: () => number;
}

/** How a turn leaves its session: kept for the next turn, killed, interrupted (cancel), or left running (shutdown). */
export type SessionEnding = "keep" | "kill" | "interrupt" | "detach";

/**
 * Owns every agent session of the host: the session table, the attempt records, and the two ticks
 * (one capture, one health) that serve all sessions. Turns drive their session through it; the
 * ticks report to the turn watching a session through its `SessionWatch`.
 */
export class AgentSupervisor {
  readonly table = new SessionTable();
  readonly attempts = new AttemptRecords();
  readonly settings: CliAgentsSettings;
  readonly #deps: SupervisorDeps;
  readonly #now: () => number;
  readonly #timers: CancelTimer[] = [];
  #capturing = false;
  #checking = false;
  #closed = false;
  readonly #killing = new Set<AgentSession>();
  readonly #reattaching = new Map<string, Promise<void>>();
  /** Ticks (by kind and host) whose last run could not reach tmux; logged once until they can. */
  readonly #failing = new Set<string>();

  constructor(deps: SupervisorDeps) {
    this.#deps = deps;
    this.settings = deps.settings;
    this.#now = deps.now ?? Date.now;
  }

  /** Starts the capture tick and the health tick (once). */
  start(): void {
    if (this.#timers.length > 0 || this.#closed) return;
    this.#timers.push(this.#deps.schedule(() => this.captureTick(), this.settings.captureIntervalMs));
    this.#timers.push(this.#deps.schedule(() => this.healthTick(), this.settings.healthIntervalMs));
  }

  /** The supervisor's clock (epoch ms). */
  now(): number {
    return this.#now();
  }

  /** Live timers this supervisor started: 2 while running, whatever the number of sessions. */
  get timers(): number {
    return this.#timers.length;
  }

  /** One capture of every session (see `captureHost`); skipped while the previous one still runs. */
  async captureTick(): Promise<void> {
    if (this.#capturing || this.#closed) return;
    this.#capturing = true;
    const began = performance.now();
    try {
      await Promise.all(
        [...this.#sightingsByHost(false)].map(async ([hostId, sightings]) => {
          try {
            await captureHost(
              this.#deps.tmuxFor(hostId),
              sightings,
              this.#now,
              (s) => this.#isCurrent(s),
              this.#mayBeQuiet,
            );
            this.#reachable(hostId, "capture");
          } catch (error) {
            this.#tickFailed(hostId, "capture", error);
          }
        }),
      );
    } finally {
      this.#capturing = false;
      this.#deps.counters.captureTick((performance.now() - began) / 1000);
    }
  }

  /** One health check of every session (see `checkHost`); skipped while the previous one still runs. */
  async healthTick(): Promise<void> {
    if (this.#checking || this.#closed) return;
    this.#checking = true;
    try {
      await Promise.all(
        [...this.#sightingsByHost(true)].map(async ([hostId, sightings]) => {
          try {
            const tmux = this.#deps.tmuxFor(hostId);
            await checkHost(tmux, sightings, this.#now, (s) => this.#isCurrent(s), this.#findings);
            this.#reachable(hostId, "health");
          } catch (error) {
            this.#tickFailed(hostId, "health", error);
          }
        }),
      );
    } finally {
      this.#checking = false;
    }
  }

  /**
   * A tick that could not reach a host's tmux (an SSH host down, tmux gone) is logged once until it
   * works again: it is the host's state, not a fault of ours, and counting it against the fault
   * budget every second would shut the whole host down. Anything else is a bug and a fault.
   */
  #tickFailed(hostId: string | null, tick: "capture" | "health", error: unknown): void {
    if (!DispatchError.isInstance(error)) {
      this.#deps.onFault(`${tick} tick`, error);
      return;
    }
    const key = `${tick} ${hostId ?? "local"}`;
    if (this.#failing.has(key)) return;
    this.#failing.add(key);
    this.#deps.logger.warn(
      `the ${tick} tick cannot reach tmux; sessions there are not watched until it can`,
      {
        hostId,
        err: error.message,
      },
    );
  }

  #reachable(hostId: string | null, tick: "capture" | "health"): void {
    const key = `${tick} ${hostId ?? "local"}`;
    if (this.#failing.delete(key)) this.#deps.logger.info(`the ${tick} tick reaches tmux again`, { hostId });
  }

  /**
   * Asked before a turn is told its agent went quiet: a dead pane is left for the health tick to
   * report, and the crash-pattern scan runs now, so a health tick that runs late (a loaded machine)
   * cannot let a crash pass for an answer.
   */
  readonly #mayBeQuiet = (session: AgentSession, capture: PaneCapture): boolean => {
    if (capture.dead || session.dead) return false;
    const pattern = scanForCrash(session);
    if (pattern === undefined) return true;
    this.#findings.crashed(session, pattern);
    return false;
  };

  readonly #findings: HealthFindings = {
    gone: (session) => {
      if (session.watch !== undefined) session.watch.post({ kind: "gone" });
      else {
        this.#deps.logger.warn("agent session is gone", { session: session.name });
        this.forget(session);
      }
    },
    exited: (session, pane) => {
      session.health = "exited";
      session.healthReason = exitReason(pane);
      if (session.watch !== undefined) {
        session.watch.post({ kind: "exited", exitStatus: pane.exitStatus, signal: pane.signal });
        return;
      }
      if (pane.exitStatus !== 0) this.#deps.counters.crashed(session.agent.id);
      session.state = "exited";
    },
    crashed: (session, pattern) => {
      if (session.health === "crashed") return;
      session.health = "crashed";
      session.healthReason = `crash pattern "${pattern}" on screen`;
      if (session.watch !== undefined) session.watch.post({ kind: "crashed", pattern });
      else this.#deps.counters.crashed(session.agent.id);
    },
    stop: (session) => {
      void this.kill(session);
    },
  };

  /**
   * The session a turn of `conversationId` works in, with a fresh watch: the existing one (kept from
   * the last turn or re-attached), or a new entry not yet spawned. A session still stopping after a
   * cancel is killed first.
   */
  async attach(
    conversationId: string,
    workspaceId: string,
    hostId: string | null,
    agent: AgentConfig,
  ): Promise<AgentSession> {
    this.#open();
    if (hostId !== null) await this.#reattaching.get(hostId);
    let session = this.table.get(conversationId);
    if (session !== undefined && (session.state === "stopping" || session.agent.id !== agent.id)) {
      await this.kill(session);
      session = undefined;
    }
    if (session?.watch !== undefined) {
      throw new DispatchError("conflict", `agent session ${session.name} is already watched by a turn`);
    }
    if (session === undefined) {
      session = new AgentSession(
        { conversationId, workspaceId, hostId, agent, state: "starting", spawned: false },
        this.#now(),
      );
      this.table.add(session);
    }
    session.watch = new SessionWatch();
    // lines written while no turn watched are reported to this one at the next tick
    session.forceReport = true;
    return session;
  }

  /**
   * Starts the agent: a new tmux session in `cwd` the first time, else a respawn in the same pane
   * (killing a process that still runs). The command must be on PATH (checked here for local
   * workspaces, so a typo is a clear error rather than a pane that dies at once).
   */
  async spawn(session: AgentSession, cwd: string): Promise<number | null> {
    this.#open();
    const agent = session.agent;
    const spec = { cwd, command: agent.command, env: agent.env };
    const tmux = this.#deps.tmuxFor(session.hostId);
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
    this.#reset(session, pid);
    return pid;
  }

  /** Pastes the turn's input and submits it; the session is `busy` until its turn ends. */
  async paste(session: AgentSession, text: string, turnId: string): Promise<void> {
    const input = text.replace(/\r?\n$/, "");
    session.inputLines = input.split(/\r?\n/).map((line) => line.trim());
    const tmux = this.#deps.tmuxFor(session.hostId);
    await tmux.paste(
      session.name,
      input,
      session.agent.submitKeys,
      optionCommands(session.name, { turn: turnId }),
    );
    session.state = "busy";
  }

  /** Sends raw input to a conversation's live session (`POST /conversations/:id/input`). */
  async input(conversationId: string, input: AgentInput): Promise<void> {
    const session = this.table.get(conversationId);
    if (session === undefined || !session.spawned || session.state === "stopping") {
      throw new DispatchError(
        "conflict",
        `conversation "${conversationId}" has no running agent session; send it a message to start one`,
      );
    }
    const tmux = this.#deps.tmuxFor(session.hostId);
    try {
      if ("text" in input) await tmux.paste(session.name, input.text, []);
      else await tmux.sendKeys(session.name, input.keys);
    } catch (error) {
      // the session went away between the lookup and the send, or tmux refused a key name
      throw new DispatchError("conflict", `could not send input to ${session.name}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * Captures the session's pane now, outside the tick (after a crash, so the last screen and lines
   * are reported even when the health tick saw the exit before the capture tick saw the output).
   */
  async captureNow(session: AgentSession): Promise<PaneCapture | undefined> {
    const tmux = this.#deps.tmuxFor(session.hostId);
    const [visible] = (await tmux.captureMany([session.name])).captures;
    if (visible === undefined) return undefined;
    const history = session.lines.historyNeeded(visible);
    const capture =
      history === 0
        ? visible
        : (await tmux.captureMany([session.name], () => history + visible.height)).captures[0];
    if (capture !== undefined) session.capture = capture;
    return capture;
  }

  /** Counts a crash in the session's turn; returns its attempt number. */
  recordCrash(session: AgentSession): number {
    this.#deps.counters.crashed(session.agent.id);
    session.state = "respawning";
    return this.attempts.record(session.conversationId, this.#now());
  }

  /** Respawns a crashed agent within its turn. */
  async respawn(session: AgentSession, cwd: string): Promise<number | null> {
    const pid = await this.spawn(session, cwd);
    this.#deps.counters.respawned(session.agent.id);
    return pid;
  }

  /** Ends a turn's hold on its session, the way the turn ended. Never throws. */
  async end(session: AgentSession, ending: SessionEnding): Promise<void> {
    session.watch = undefined;
    this.attempts.delete(session.conversationId);
    if (this.#closed || this.table.get(session.conversationId) !== session) return;
    try {
      switch (ending) {
        case "keep":
          session.state = session.dead ? "exited" : "idle";
          await this.#trimHistory(session);
          return;
        case "detach":
          return;
        case "interrupt":
          await this.interrupt(session);
          return;
        case "kill":
          await this.kill(session);
          return;
      }
    } catch (error) {
      this.#deps.logger.warn("could not settle the agent session", {
        session: session.name,
        err: messageOf(error),
      });
    }
  }

  /** Sends `C-c`; the health tick kills the session once its process ends or the grace is over. */
  async interrupt(session: AgentSession): Promise<void> {
    session.watch = undefined;
    session.state = "stopping";
    session.killAt = this.#now() + this.settings.cancelGraceMs;
    if (!session.spawned) {
      this.forget(session);
      return;
    }
    try {
      await this.#deps.tmuxFor(session.hostId).sendKeys(session.name, ["C-c"]);
    } catch (error) {
      this.#deps.logger.warn("could not send C-c; the session is killed after the grace", {
        session: session.name,
        err: messageOf(error),
      });
    }
  }

  /** Kills the tmux session (if any) and forgets it. */
  async kill(session: AgentSession): Promise<void> {
    if (this.#killing.has(session)) return;
    this.#killing.add(session);
    try {
      if (session.spawned) await this.#deps.tmuxFor(session.hostId).kill(session.name);
    } catch (error) {
      this.#deps.logger.warn("could not kill the agent session", {
        session: session.name,
        err: messageOf(error),
      });
    } finally {
      this.#killing.delete(session);
      this.forget(session);
    }
  }

  /** Drops a session and its attempt record (every path that ends a session comes through here). */
  forget(session: AgentSession): void {
    session.watch = undefined;
    this.table.delete(session);
    this.attempts.delete(session.conversationId);
  }

  /** Kills the sessions of a deleted workspace. */
  async forgetWorkspace(workspaceId: string): Promise<void> {
    const doomed = [...this.table.values()].filter((s) => s.workspaceId === workspaceId);
    await Promise.all(doomed.map((session) => this.kill(session)));
  }

  /**
   * Start-up: every `dispatch-*` session on the local socket whose conversation still exists and
   * still names a configured agent is re-attached (watched again by the ticks, and reported to the
   * conversation's next turn); every other one is killed.
   */
  async reattach(
    store: Pick<ConversationStore, "conversations" | "turns">,
    hostId: string | null = null,
  ): Promise<{ reattached: number; killed: number }> {
    const tmux = this.#deps.tmuxFor(hostId);
    const agents = new Map(this.settings.agents.map((a) => [a.id, a]));
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
        this.table.get(conversationId) !== undefined
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
        this.#now(),
      );
      session.reattached = { interruptedTurnId: turn?.status === "interrupted" ? turn.id : undefined };
      this.table.add(session);
      reattached += 1;
    }
    return { reattached, killed };
  }

  /**
   * Re-attaches the sessions of a remote host in the background (connecting to every host at
   * start-up must not hold the host up); a turn on that host waits for it first.
   */
  reattachLater(store: Pick<ConversationStore, "conversations" | "turns">, hostId: string): void {
    if (this.#reattaching.has(hostId)) return;
    const done = this.reattach(store, hostId).then(
      (found) => {
        if (found.reattached + found.killed > 0)
          this.#deps.logger.info("agent sessions found on a host", { hostId, ...found });
      },
      (error: unknown) =>
        this.#deps.logger.warn("could not look for agent sessions on a host", {
          hostId,
          err: messageOf(error),
        }),
    );
    this.#reattaching.set(hostId, done);
  }

  /** Every session, as copies. */
  list(): AgentInfo[] {
    return [...this.table.values()].map((s) => ({
      conversationId: s.conversationId,
      workspaceId: s.workspaceId,
      agentId: s.agent.id,
      state: s.state,
      health: s.health,
      ...(s.healthReason === undefined ? {} : { reason: s.healthReason }),
      attempts: this.attempts.of(s.conversationId),
      lastOutputAt: s.lastOutputAt === null ? null : new Date(s.lastOutputAt).toISOString(),
      hostId: s.hostId,
    }));
  }

  /**
   * Host shutdown: stops both ticks and forgets every session and attempt record. The tmux sessions
   * keep running, so the next start re-attaches them; only those a cancel was stopping are killed
   * now, since nobody is left to end their grace.
   */
  async dispose(): Promise<void> {
    this.#closed = true;
    for (const cancel of this.#timers.splice(0)) cancel();
    const stopping = [...this.table.values()].filter((s) => s.state === "stopping" && s.spawned);
    this.table.clear();
    this.attempts.clear();
    await Promise.all(
      stopping.map((session) =>
        this.#deps
          .tmuxFor(session.hostId)
          .kill(session.name)
          .catch((error: unknown) =>
            this.#deps.logger.warn("could not kill a cancelled agent session at shutdown", {
              session: session.name,
              err: messageOf(error),
            }),
          ),
      ),
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  #open(): void {
    if (this.#closed)
      throw new DispatchError("shutting_down", "the host is shutting down; no agent sessions start");
  }

  /** Spawned sessions grouped by host, each with its generation (see `Sighting`). */
  #sightingsByHost(includeStopping: boolean): Map<string | null, Sighting[]> {
    const groups = new Map<string | null, Sighting[]>();
    for (const session of this.table.values()) {
      if (!session.spawned || this.#killing.has(session)) continue;
      if (!includeStopping && session.state === "stopping") continue;
      const group = groups.get(session.hostId) ?? [];
      group.push({ session, generation: session.generation });
      groups.set(session.hostId, group);
    }
    return groups;
  }

  #isCurrent(sighting: Sighting): boolean {
    const { session } = sighting;
    return (
      !this.#closed &&
      session.generation === sighting.generation &&
      this.table.get(session.conversationId) === session &&
      !this.#killing.has(session)
    );
  }

  #reset(session: AgentSession, pid: number | null): void {
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
    session.lastChangeAt = this.#now();
    session.state = "starting";
  }

  /**
   * Once a long session's history passes half of tmux's limit (and all of its lines were reported),
   * clears it, so absolute line numbers keep working: tmux drops the oldest lines at the limit.
   */
  async #trimHistory(session: AgentSession): Promise<void> {
    const capture = session.capture;
    if (capture === undefined || capture.historySize < historyLimit / 2) return;
    const next = Math.max(0, session.lines.next - capture.historySize);
    await this.#deps
      .tmuxFor(session.hostId)
      .run(
        [clearHistoryCommand(session.name), ...optionCommands(session.name, { next: String(next) })],
        "clear history",
      );
    session.lines.reset(next);
    session.persistedNext = next;
    session.hash = undefined;
  }
}

function exitReason(pane: PaneStatus): string {
  if (pane.signal !== null) return `killed by signal ${pane.signal}`;
  return `exited with status ${pane.exitStatus ?? "unknown"}`;
}
