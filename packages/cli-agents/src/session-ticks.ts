import { type CancelTimer, DispatchError, type Logger } from "@dispatch/kernel";
import type { AgentSession } from "./agent-session.ts";
import { captureHost, type Sighting } from "./capture-tick.ts";
import type { CliAgentsSettings } from "./config.ts";
import { checkHost, type HealthFindings } from "./health-tick.ts";
import type { PaneCapture } from "./pane-capture.ts";
import type { SessionTable } from "./session-table.ts";
import type { TmuxClient } from "./tmux-client.ts";

/** What the two ticks are built from (the supervisor's parts they read and report to). */
export interface SessionTicksDeps {
  settings: CliAgentsSettings;
  table: SessionTable;
  /** Sessions a kill is under way for: the ticks leave them alone. */
  killing: ReadonlySet<AgentSession>;
  /** True once the host shuts down: no tick runs, and no finding is reported. */
  closed(): boolean;
  tmuxFor(hostId: string | null): TmuxClient;
  logger: Logger;
  counters: { captureTick(seconds: number): void };
  schedule(fn: () => Promise<void>, ms: number): CancelTimer;
  onFault(kind: string, error: unknown): void;
  now: () => number;
  findings: HealthFindings;
  mayBeQuiet: (session: AgentSession, capture: PaneCapture) => boolean;
}

/**
 * The two ticks (one capture, one health) that serve every session of the host, whatever their
 * number: their timers, the guard that skips a tick while the previous one still runs, and the log
 * of hosts whose tmux a tick cannot reach.
 */
export class SessionTicks {
  readonly #deps: SessionTicksDeps;
  readonly #timers: CancelTimer[] = [];
  #capturing = false;
  #checking = false;
  /** Ticks (by kind and host) whose last run could not reach tmux; logged once until they can. */
  readonly #failing = new Set<string>();

  constructor(deps: SessionTicksDeps) {
    this.#deps = deps;
  }

  /** Starts the capture tick and the health tick (once). */
  start(): void {
    if (this.#timers.length > 0 || this.#deps.closed()) return;
    this.#timers.push(this.#deps.schedule(() => this.captureTick(), this.#deps.settings.captureIntervalMs));
    this.#timers.push(this.#deps.schedule(() => this.healthTick(), this.#deps.settings.healthIntervalMs));
  }

  /** Cancels both timers (host shutdown). */
  stop(): void {
    for (const cancel of this.#timers.splice(0)) cancel();
  }

  /** Live timers: 2 while running, whatever the number of sessions. */
  get timers(): number {
    return this.#timers.length;
  }

  /** One capture of every session (see `captureHost`); skipped while the previous one still runs. */
  async captureTick(): Promise<void> {
    if (this.#capturing || this.#deps.closed()) return;
    this.#capturing = true;
    const began = performance.now();
    try {
      await Promise.all(
        [...this.#sightingsByHost(false)].map(async ([hostId, sightings]) => {
          try {
            await captureHost(
              this.#deps.tmuxFor(hostId),
              sightings,
              this.#deps.now,
              (s) => this.#isCurrent(s),
              this.#deps.mayBeQuiet,
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
    if (this.#checking || this.#deps.closed()) return;
    this.#checking = true;
    try {
      await Promise.all(
        [...this.#sightingsByHost(true)].map(async ([hostId, sightings]) => {
          try {
            const tmux = this.#deps.tmuxFor(hostId);
            await checkHost(tmux, sightings, this.#deps.now, (s) => this.#isCurrent(s), this.#deps.findings);
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

  /** Spawned sessions grouped by host, each with its generation (see `Sighting`). */
  #sightingsByHost(includeStopping: boolean): Map<string | null, Sighting[]> {
    const groups = new Map<string | null, Sighting[]>();
    for (const session of this.#deps.table.values()) {
      if (!session.spawned || this.#deps.killing.has(session)) continue;
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
      !this.#deps.closed() &&
      session.generation === sighting.generation &&
      this.#deps.table.get(session.conversationId) === session &&
      !this.#deps.killing.has(session)
    );
  }
}
