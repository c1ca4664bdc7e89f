import type { ConversationStore } from "@dispatch/conversation-store";
import { type CancelTimer, DispatchError, type Logger, messageOf } from "@dispatch/kernel";
import type { AgentInfo, AgentInputBody } from "@dispatch/wire";
import { AgentSession } from "./agent-session.ts";
import { AttemptRecords } from "./attempts.ts";
import type { AgentConfig, CliAgentsSettings } from "./config.ts";
import { healthFindings, mayBeQuiet } from "./health-findings.ts";
import { trimHistory } from "./history-trim.ts";
import type { PaneCapture } from "./pane-capture.ts";
import { reattachHost } from "./reattach.ts";
import { SessionTable } from "./session-table.ts";
import { SessionTicks } from "./session-ticks.ts";
import { SessionWatch } from "./session-watch.ts";
import { spawnAgent } from "./spawn.ts";
import { optionCommands, type TmuxClient } from "./tmux-client.ts";

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
  readonly #ticks: SessionTicks;
  #closed = false;
  readonly #killing = new Set<AgentSession>();
  readonly #reattaching = new Map<string, Promise<void>>();

  constructor(deps: SupervisorDeps) {
    this.#deps = deps;
    this.settings = deps.settings;
    this.#now = deps.now ?? Date.now;
    const findings = healthFindings({
      logger: deps.logger,
      counters: deps.counters,
      forget: (session) => this.forget(session),
      kill: (session) => this.kill(session),
    });
    this.#ticks = new SessionTicks({
      settings: deps.settings,
      table: this.table,
      killing: this.#killing,
      closed: () => this.#closed,
      tmuxFor: (hostId) => deps.tmuxFor(hostId),
      logger: deps.logger,
      counters: deps.counters,
      schedule: (fn, ms) => deps.schedule(fn, ms),
      onFault: (kind, error) => deps.onFault(kind, error),
      now: this.#now,
      findings,
      mayBeQuiet: mayBeQuiet(findings),
    });
  }

  /** Starts the capture tick and the health tick (once). */
  start(): void {
    this.#ticks.start();
  }

  /** The supervisor's clock (epoch ms). */
  now(): number {
    return this.#now();
  }

  /** Live timers this supervisor started: 2 while running, whatever the number of sessions. */
  get timers(): number {
    return this.#ticks.timers;
  }

  /** One capture of every session (see `captureHost`); skipped while the previous one still runs. */
  captureTick(): Promise<void> {
    return this.#ticks.captureTick();
  }

  /** One health check of every session (see `checkHost`); skipped while the previous one still runs. */
  healthTick(): Promise<void> {
    return this.#ticks.healthTick();
  }

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
    return spawnAgent(this.#deps.tmuxFor(session.hostId), session, cwd, this.#now);
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
          await trimHistory((hostId) => this.#deps.tmuxFor(hostId), session);
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
    return reattachHost(tmux, store, this.settings.agents, this.table, hostId, this.#now);
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
    this.#ticks.stop();
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
}
