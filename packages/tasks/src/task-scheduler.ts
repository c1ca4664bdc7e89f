import type { ConversationStore } from "@dispatch/conversation-store";
import { DispatchError, type Logger, messageOf } from "@dispatch/kernel";
import type { Orchestrator } from "@dispatch/session-orchestrator";
import type { ConversationEvent, TurnStatus } from "@dispatch/wire";
import type { TasksConfig } from "./config.ts";
import { classifyFailure } from "./retry-policy.ts";
import type { TaskQueue } from "./task-queue.ts";
import type { ClaimedTask } from "./types.ts";

/** A running attempt this process started. */
interface RunningAttempt {
  taskId: string;
  n: number;
  conversationId: string;
  turnId: string | undefined;
  startedAt: number;
  lastBeat: number;
  /** Set when this side ended the attempt (stuck, cancel), so the turn's end is not counted twice. */
  endedHere: boolean;
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
      if (!attempt.endedHere && now - attempt.lastBeat > limit) await this.#stuck(attempt, now);
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
    if (attempt.endedHere) {
      void this.kick();
      return;
    }
    const { queue } = this.#deps;
    const final = await this.#finalEventData(conversationId, turnId);
    const tokens = tokensOf(final);
    if (status === "completed") {
      await queue.complete(
        attempt.taskId,
        attempt.n,
        { conversationId, turnId, finishReason: final.finishReason ?? null },
        tokens,
      );
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
    this.#deps.observe?.attemptEnded(status);
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
        attempt.endedHere = true;
        await this.#deps.orchestrator.cancelTurn(attempt.conversationId);
      }
    }
    return result.task;
  }

  /** Stops claiming; running attempts are left to the orchestrator's shutdown (recovered at next start). */
  async stop(): Promise<void> {
    this.#stopped = true;
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
    const attempt: RunningAttempt = {
      taskId: task.id,
      n: task.n,
      conversationId,
      turnId: undefined,
      startedAt: now,
      lastBeat: now,
      endedHere: false,
    };
    this.#byConversation.set(conversationId, attempt);
    await queue.attach(task.id, task.n, { conversationId });
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
    }
  }

  async #stuck(attempt: RunningAttempt, now: number): Promise<void> {
    attempt.endedHere = true;
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
