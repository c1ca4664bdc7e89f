import { DispatchError } from "@dispatch/kernel";
import type { Lease } from "@dispatch/provider-concurrency";
import type { RunnerEvent, RunnerOutcome, TurnRunnerContext } from "@dispatch/session-orchestrator";
import type { AgentSession } from "./agent-session.ts";
import { type AgentConfig, backoffFor } from "./config.ts";
import { screenEvent, screenText } from "./screen.ts";
import type { WatchSignal } from "./session-watch.ts";
import type { AgentSupervisor, SessionEnding } from "./supervisor.ts";

/** The error code of a turn that ended because its agent kept crashing. */
export const crashedCode = "agent_crashed";

/**
 * Runs one turn of a `cli:<id>` conversation: holds the agent's provider slot, gets the session
 * (spawning the agent when it has none or its process ended), waits until the agent is quiet,
 * pastes the message, reports screen changes and new lines until the agent is quiet again, and
 * respawns it (with backoff, counting attempts) when it crashes. Every exit path drops the turn's
 * attempt record and releases the slot; how the session is left depends on the path (see `end`).
 */
export async function runCliTurn(
  ctx: TurnRunnerContext,
  supervisor: AgentSupervisor,
  agent: AgentConfig,
): Promise<RunnerOutcome> {
  const conversationId = ctx.conversation.id;
  let session: AgentSession | undefined;
  let lease: Lease | undefined;
  let ending: SessionEnding = "kill";
  try {
    if (agent.provider !== undefined) lease = await holdSlot(ctx, agent.provider);
    session = await supervisor.attach(conversationId, ctx.workspace.id, ctx.workspace.hostId, agent);
    const outcome = await new CliTurn(ctx, supervisor, session).run();
    if (outcome.status === "completed") ending = "keep";
    return outcome;
  } catch (error) {
    // a stop from outside: the orchestrator records it; a host shutdown leaves the agent running
    if (ctx.signal.aborted) ending = isShutdown(ctx.signal.reason) ? "detach" : "interrupt";
    throw error;
  } finally {
    supervisor.attempts.delete(conversationId);
    lease?.release();
    if (session !== undefined) await supervisor.end(session, ending);
  }
}

/** Takes a slot of `providerId`, showing the turn as waiting while it is queued. */
async function holdSlot(ctx: TurnRunnerContext, providerId: string): Promise<Lease> {
  const pending = ctx.acquireSlot(providerId);
  // a free slot is granted with an already resolved promise, which wins this race
  const first = await Promise.race([pending, Promise.resolve(undefined)]);
  if (first !== undefined) return watchLease(ctx, first);
  await ctx.emit([{ type: "turn.waiting", data: { reason: "slot", provider: providerId } }], "waiting");
  return watchLease(ctx, await pending);
}

/**
 * The slot manager's safety net (`concurrency.maxLeaseMs`) may take a long turn's slot back; the
 * agent cannot be paused, so the turn goes on without it, and the log says why the slot is free.
 */
function watchLease(ctx: TurnRunnerContext, lease: Lease): Lease {
  lease.signal.addEventListener(
    "abort",
    () => {
      if (ctx.signal.aborted) return;
      ctx.logger.warn(
        "the provider slot of this CLI agent turn was taken back; the turn goes on without it",
        {
          provider: lease.providerId,
          reason:
            lease.signal.reason instanceof Error ? lease.signal.reason.message : String(lease.signal.reason),
        },
      );
    },
    { once: true },
  );
  return lease;
}

function isShutdown(reason: unknown): boolean {
  return DispatchError.isInstance(reason) && reason.code === "shutdown";
}

/** Where a turn is: waiting for the agent to be ready, for its answer, or for a respawn's backoff. */
type Phase = "ready" | "answer" | "backoff";

class CliTurn {
  readonly #ctx: TurnRunnerContext;
  readonly #supervisor: AgentSupervisor;
  readonly #session: AgentSession;
  readonly #agent: AgentConfig;
  readonly #text: string[] = [];
  #phase: Phase = "ready";

  constructor(ctx: TurnRunnerContext, supervisor: AgentSupervisor, session: AgentSession) {
    this.#ctx = ctx;
    this.#supervisor = supervisor;
    this.#session = session;
    this.#agent = session.agent;
  }

  get #watch() {
    const watch = this.#session.watch;
    if (watch === undefined)
      throw new DispatchError("internal", `session ${this.#session.name} lost its watch`);
    return watch;
  }

  async run(): Promise<RunnerOutcome> {
    const session = this.#session;
    const replaced =
      session.spawned && (session.dead || session.health === "crashed") ? session.healthReason : undefined;
    if (!session.spawned || replaced !== undefined) {
      const pid = await this.#supervisor.spawn(session, this.#ctx.workspace.root);
      await this.#emit([
        {
          type: "agent.started",
          data: { agentId: this.#agent.id, session: session.name, pid, ...(replaced ? { replaced } : {}) },
        },
      ]);
      this.#watch.awaitQuiet(true);
    } else this.#watch.awaitQuiet(false);
    for (;;) {
      const signal = await this.#watch.next(this.#ctx.signal);
      const outcome = await this.#handle(signal);
      if (outcome !== undefined) return outcome;
    }
  }

  async #handle(signal: WatchSignal): Promise<RunnerOutcome | undefined> {
    switch (signal.kind) {
      case "output":
        await this.#output(signal);
        return undefined;
      case "quiet":
        if (this.#phase === "ready") {
          await this.#deliver();
          return undefined;
        }
        return this.#completed();
      case "exited":
        if (this.#phase === "backoff") return undefined;
        return this.#crashed(
          signal.signal === null
            ? `exited with status ${signal.exitStatus ?? "unknown"}`
            : `killed by signal ${signal.signal}`,
          { exitStatus: signal.exitStatus, signal: signal.signal },
        );
      case "crashed":
        if (this.#phase === "backoff") return undefined;
        return this.#crashed(`crash pattern "${signal.pattern}" on screen`, { pattern: signal.pattern });
      case "due":
        if (this.#phase === "backoff") await this.#respawn();
        return undefined;
      case "gone":
        return {
          status: "failed",
          code: "agent_gone",
          error: `the tmux session ${this.#session.name} of agent "${this.#agent.id}" is gone (killed outside Dispatch?); the next message starts a new one`,
        };
    }
  }

  /** Pastes the message once the agent is ready (first telling a re-attached session's story). */
  async #deliver(): Promise<void> {
    const session = this.#session;
    if (session.reattached !== undefined) {
      const { interruptedTurnId } = session.reattached;
      session.reattached = undefined;
      await this.#emit([
        {
          type: "agent.reattached",
          data: {
            agentId: this.#agent.id,
            ...(interruptedTurnId === undefined ? {} : { interruptedTurnId }),
            screen: session.capture === undefined ? "" : screenText(session.capture).text,
          },
        },
      ]);
    }
    await this.#supervisor.paste(session, this.#ctx.message.text, this.#ctx.turn.id);
    await this.#emit([
      {
        type: "agent.input",
        data: { agentId: this.#agent.id, bytes: Buffer.byteLength(this.#ctx.message.text) },
      },
    ]);
    this.#phase = "answer";
    this.#watch.awaitQuiet(true);
  }

  async #output(signal: Extract<WatchSignal, { kind: "output" }>): Promise<void> {
    if (signal.skipped > 0)
      this.#ctx.text(`[… ${signal.skipped} lines scrolled past before they could be read …]\n`);
    if (signal.lines.length > 0) {
      const text = `${signal.lines.join("\n")}\n`;
      this.#text.push(text);
      this.#ctx.text(text);
    }
    await this.#emit([{ type: "screen.updated", data: screenEvent(signal.capture) }]);
  }

  async #crashed(reason: string, details: Record<string, unknown>): Promise<RunnerOutcome | undefined> {
    const session = this.#session;
    const last = await this.#supervisor.captureNow(session).catch(() => undefined);
    if (last !== undefined) {
      const { lines, skipped } = session.lines.take(last);
      await this.#output({ kind: "output", capture: last, lines, skipped });
    }
    const attempt = this.#supervisor.recordCrash(session);
    const screen = session.capture === undefined ? "" : screenText(session.capture).text;
    const max = this.#agent.respawn.maxAttempts;
    await this.#emit([
      {
        type: "agent.crashed",
        data: { agentId: this.#agent.id, attempt, maxAttempts: max, reason, ...details, screen },
      },
    ]);
    if (attempt > max) {
      return {
        status: "failed",
        code: crashedCode,
        error: `agent "${this.#agent.id}" crashed ${attempt} times in this turn (${reason}; at most ${max} respawns); its last screen:\n${screen}`,
        data: { attempts: attempt, screen },
      };
    }
    this.#phase = "backoff";
    this.#watch.expectQuiet = undefined;
    this.#watch.wakeAt = this.#supervisor.now() + backoffFor(this.#agent, attempt);
    return undefined;
  }

  async #respawn(): Promise<void> {
    const session = this.#session;
    const attempt = this.#supervisor.attempts.of(session.conversationId);
    const pid = await this.#supervisor.respawn(session, this.#ctx.workspace.root);
    await this.#emit([{ type: "agent.respawned", data: { agentId: this.#agent.id, attempt, pid } }]);
    this.#phase = "ready";
    this.#watch.awaitQuiet(true);
  }

  async #completed(): Promise<RunnerOutcome> {
    const text = this.#text.join("");
    const answer =
      text.trim() !== ""
        ? text
        : this.#session.capture === undefined
          ? ""
          : screenText(this.#session.capture).text;
    if (answer !== "") await this.#ctx.appendMessage("assistant", [{ type: "text", text: answer }]);
    return { status: "completed", data: { agentId: this.#agent.id } };
  }

  #emit(events: readonly RunnerEvent[]): Promise<void> {
    return this.#ctx.emit(events, "running");
  }
}
