import type { ConversationStore } from "@dispatch/conversation-store";
import { DispatchError, type Logger, messageOf } from "@dispatch/kernel";
import type { Orchestrator } from "@dispatch/session-orchestrator";
import type { ConversationEvent, TurnStatus } from "@dispatch/wire";
import type { TasksConfig } from "./config.ts";
import { type AttemptFailure, classifyFailure } from "./retry-policy.ts";
import type { AttemptContext, AttemptEnd, AttemptVerdict, TaskHooks } from "./task-hooks.ts";
import type { TaskQueue } from "./task-queue.ts";
import type { ClaimedTask } from "./types.ts";

/** A running attempt this process started. */
interface RunningAttempt {
  taskId: string;
  n: number;
  /** What the hooks are told about it. */
  context: AttemptContext;
  conversationId: string;
  turnId: string | undefined;
  startedAt: number;
  lastBeat: number;
  /** Set when this side ended the attempt (stuck, cancel), so the turn's end is not counted twice. */
  endedHere: AttemptEnd | undefined;
}

/** What the scheduler needs. */
export interface SchedulerDeps {
  queue: TaskQueue;
  orchestrator: Pick<Orchestrator, "createConversation" | "startTurn" | "cancelTurn">;
  store: Pick<ConversationStore, "events">;
  config: TasksConfig;
  logger: Logger;
  clock: () => number;
  /** Errors nobody awaits (a claim that failed in the background). */
  onFault(kind: string, error: unknown): void;
  /** Metrics hooks; must not throw. */
  observe?: { attemptEnded(outcome: string): void; queueWait(ms: number): void };
  /** The contributed task hooks (git worktrees, validation), read at each attempt. Default: none. */
  hooks?: () => readonly TaskHooks[];
}

/**
 * Runs claimed tasks as headless conversations (DESIGN §12): claims while the limits allow, turns
 * every event of a running attempt into a heartbeat, stops attempts silent for `stuckAfterMs` (plus
 * a grace), and files each finished turn as completed, retried or failed. One timer (`tick`) drives
 * the claims and the stuck check for every task.
 */
export class TaskScheduler {
  readonly #deps: SchedulerDeps;
  readonly #byConversation = new Map<string, RunningAttempt>();
  #claiming: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  /** Tells hooks still at work (validation) that the host is stopping. */
  readonly #stopping = new AbortController();

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
  }

  /** Attempts this process is running. */
  get running(): number {
    return this.#byConversation.size;
  }

  /** Claims and starts tasks until a limit or the queue says stop; concurrent calls coalesce. */
  kick(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#claiming !== undefined) {
      this.#again = true;
      return this.#claiming;
    }
    this.#claiming = (async () => {
      try {
        do {
          this.#again = false;
          await this.#claimAll();
        } while (this.#again && !this.#stopped);
      } catch (error) {
        this.#deps.onFault("task claim", error);
      } finally {
        this.#claiming = undefined;
      }
    })();
    return this.#claiming;
  }

  /** The periodic work: stop stuck attempts, then claim (backoffs and cooldowns end with time). */
  async tick(): Promise<void> {
    const { config, clock } = this.#deps;
    const now = clock();
    const limit = config.stuckAfterMs + config.stuckGraceMs;
    for (const attempt of [...this.#byConversation.values()]) {
      if (attempt.endedHere === undefined && now - attempt.lastBeat > limit) await this.#stuck(attempt, now);
    }
    await this.kick();
  }

  /** Every event of an attempt's conversation is a heartbeat. */
  onEvent(conversationId: string, _event: ConversationEvent): void {
    const attempt = this.#byConversation.get(conversationId);
    if (attempt !== undefined) attempt.lastBeat = this.#deps.clock();
  }

  /** Files the end of an attempt's turn. */
  async onTurnFinished(conversationId: string, turnId: string, status: TurnStatus): Promise<void> {
    const attempt = this.#byConversation.get(conversationId);
    if (attempt === undefined || (attempt.turnId !== undefined && attempt.turnId !== turnId)) return;
    this.#byConversation.delete(conversationId);
    if (attempt.endedHere !== undefined) {
      await this.#ended(attempt.context, attempt.endedHere);
      void this.kick();
      return;
    }
    const { queue } = this.#deps;
    const final = await this.#finalEventData(conversationId, turnId);
    const tokens = tokensOf(final);
    let outcome = outcomeOf(status);
    if (status === "completed") {
      const base = { conversationId, turnId, finishReason: final.finishReason ?? null };
      const verdict = await this.#runHooks("afterTurn", (hooks) =>
        hooks.afterTurn?.({ ...attempt.context, turnId }),
      );
      if (verdict.failure === undefined) {
        await queue.complete(attempt.taskId, attempt.n, { ...base, ...verdict.result }, tokens);
      } else {
        outcome = "failed";
        await queue.fail(attempt.taskId, attempt.n, verdict.failure, tokens, { ...base, ...verdict.result });
      }
    } else if (status === "interrupted") {
      await queue.fail(
        attempt.taskId,
        attempt.n,
        { status: "interrupted", message: errorOf(final, status), retryable: true },
        tokens,
      );
    } else if (status === "cancelled") {
      await queue.fail(
        attempt.taskId,
        attempt.n,
        { status: "cancelled", message: "the attempt's turn was cancelled", retryable: false },
        tokens,
      );
    } else {
      const code = typeof final.code === "string" ? final.code : undefined;
      await queue.fail(attempt.taskId, attempt.n, classifyFailure(code, errorOf(final, status)), tokens);
    }
    this.#deps.observe?.attemptEnded(outcome);
    await this.#ended(attempt.context, outcome);
    void this.kick();
  }

  /** Cancels a task; a running attempt's turn is cancelled too. */
  async cancel(taskId: string) {
    const result = await this.#deps.queue.cancel(taskId);
    if (result.wasRunning !== undefined) {
      const attempt = [...this.#byConversation.values()].find(
        (a) => a.taskId === taskId && a.n === result.wasRunning,
      );
      if (attempt !== undefined) {
        attempt.endedHere = "cancelled";
        await this.#deps.orchestrator.cancelTurn(attempt.conversationId);
      }
    }
    return result.task;
  }

  /** Stops claiming; running attempts are left to the orchestrator's shutdown (recovered at next start). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort(new DispatchError("shutting_down", "the host is shutting down"));
    await this.#claiming;
    this.#byConversation.clear();
  }

  async #claimAll(): Promise<void> {
    const { queue } = this.#deps;
    while (!this.#stopped) {
      const claimed = await queue.claim();
      if (!("n" in claimed)) return;
      await this.#start(claimed);
    }
  }

  async #start(task: ClaimedTask): Promise<void> {
    const { queue, orchestrator, clock } = this.#deps;
    const now = clock();
    this.#deps.observe?.queueWait(Math.max(0, now - task.readySince));
    let conversationId: string;
    try {
      const conversation = await orchestrator.createConversation({
        workspaceId: task.workspaceId,
        title: `${task.title} (attempt ${task.n})`,
        ...(task.options.runner ? { runner: task.options.runner } : {}),
        ...(task.options.provider ? { provider: task.options.provider } : {}),
        ...(task.options.model ? { model: task.options.model } : {}),
      });
      conversationId = conversation.id;
    } catch (error) {
      // a task whose runner, provider or workspace is not usable would fail the same way every time
      await queue.fail(task.id, task.n, {
        status: "failed",
        message: `cannot start: ${messageOf(error)}`,
        retryable: false,
      });
      return;
    }
    const context: AttemptContext = {
      task: { id: task.id, workspaceId: task.workspaceId, title: task.title, options: task.options },
      n: task.n,
      conversationId,
      signal: this.#stopping.signal,
    };
    const attempt: RunningAttempt = {
      taskId: task.id,
      n: task.n,
      context,
      conversationId,
      turnId: undefined,
      startedAt: now,
      lastBeat: now,
      endedHere: undefined,
    };
    await queue.attach(task.id, task.n, { conversationId });
    const prepared = await this.#runHooks("beforeTurn", (hooks) => hooks.beforeTurn?.(context));
    if (prepared.failure !== undefined) {
      await queue.fail(task.id, task.n, prepared.failure, 0, prepared.result);
      this.#deps.observe?.attemptEnded("failed");
      await this.#ended(context, "failed");
      return;
    }
    this.#byConversation.set(conversationId, attempt);
    try {
      const { turnId } = await orchestrator.startTurn({
        conversationId,
        text: task.spec,
        ...(task.options.maxSteps ? { maxSteps: task.options.maxSteps } : {}),
      });
      attempt.turnId = turnId;
      await queue.attach(task.id, task.n, { conversationId, turnId });
    } catch (error) {
      this.#byConversation.delete(conversationId);
      const busy =
        DispatchError.isInstance(error) && ["memory_pressure", "shutting_down"].includes(error.code);
      await queue.fail(task.id, task.n, {
        status: "failed",
        message: `cannot start: ${messageOf(error)}`,
        retryable: busy,
      });
      await this.#ended(context, "failed");
    }
  }

  /**
   * Runs one phase of every hook in order: results merge, the first failure wins and stops the
   * rest. A throw is a final failure naming the hook.
   */
  async #runHooks(
    phase: "beforeTurn" | "afterTurn",
    call: (hooks: TaskHooks) => Promise<AttemptVerdict | undefined> | undefined,
  ): Promise<{ failure?: AttemptFailure; result?: Record<string, unknown> }> {
    let result: Record<string, unknown> | undefined;
    for (const hooks of this.#deps.hooks?.() ?? []) {
      let verdict: AttemptVerdict | undefined;
      try {
        verdict = await call(hooks);
      } catch (error) {
        this.#deps.logger.error("a task hook failed", { hook: hooks.id, phase, err: error });
        verdict = {
          failure: {
            code: "hook_failed",
            message: `${hooks.id} (${phase}): ${messageOf(error)}`,
            retryable: false,
          },
        };
      }
      if (verdict?.result !== undefined) result = { ...result, ...verdict.result };
      if (verdict?.failure !== undefined) {
        const { message, retryable } = verdict.failure;
        return { failure: { status: "failed", message, retryable }, ...(result ? { result } : {}) };
      }
    }
    return result === undefined ? {} : { result };
  }

  /** Tells every hook the attempt was filed; their errors are logged, never thrown. */
  async #ended(context: AttemptContext, outcome: AttemptEnd): Promise<void> {
    for (const hooks of this.#deps.hooks?.() ?? []) {
      try {
        await hooks.attemptEnded?.({ ...context, outcome });
      } catch (error) {
        this.#deps.onFault("task hook attemptEnded", error);
      }
    }
  }

  async #stuck(attempt: RunningAttempt, now: number): Promise<void> {
    attempt.endedHere = "stuck";
    const silentMs = now - attempt.lastBeat;
    this.#deps.logger.warn("task attempt is stuck; stopping it", {
      task: attempt.taskId,
      attempt: attempt.n,
      silentMs,
    });
    await this.#deps.queue.fail(attempt.taskId, attempt.n, {
      status: "stuck",
      message: `stuck: no heartbeat for ${silentMs} ms (tasks.stuckAfterMs is ${this.#deps.config.stuckAfterMs})`,
      retryable: true,
    });
    this.#deps.observe?.attemptEnded("stuck");
    await this.#deps.orchestrator.cancelTurn(attempt.conversationId).catch((error: unknown) => {
      this.#deps.onFault("stuck attempt cancel", error);
    });
  }

  async #finalEventData(conversationId: string, turnId: string): Promise<Record<string, unknown>> {
    const { events } = this.#deps.store;
    const last = await events.lastSeq(conversationId);
    const [event] = last > 0 ? await events.listAfter(conversationId, last - 1, 1) : [];
    return event?.turnId === turnId && typeof event.data === "object" && event.data !== null
      ? (event.data as Record<string, unknown>)
      : {};
  }
}

/** The attempt outcome a turn's final status means. */
function outcomeOf(status: TurnStatus): AttemptEnd {
  return status === "completed" || status === "cancelled" || status === "interrupted" ? status : "failed";
}

function tokensOf(data: Record<string, unknown>): number {
  const usage = data.usage as { inputTokens?: unknown; outputTokens?: unknown } | undefined;
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  return usage === undefined ? 0 : n(usage.inputTokens) + n(usage.outputTokens);
}

function errorOf(data: Record<string, unknown>, status: string): string {
  return typeof data.error === "string"
    ? data.error
    : typeof data.reason === "string"
      ? data.reason
      : `the turn ended ${status}`;
}
