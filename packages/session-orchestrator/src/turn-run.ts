import type { ConversationStore, NewEvent, Turn } from "@dispatch/conversation-store";
import { type Logger, messageOf } from "@dispatch/kernel";
import type { AcquireRequest, Lease } from "@dispatch/provider-concurrency";
import type { ProvidersService } from "@dispatch/providers";
import type { MessagePart, TurnStatus, Workspace } from "@dispatch/wire";
import type { OrchestratorConfig } from "./config.ts";
import type { EventWriter } from "./event-writer.ts";
import type { FlushTicker } from "./flush-ticker.ts";
import { gatedProviders } from "./gated-providers.ts";
import type { ModelCallGate } from "./model-call-gate.ts";
import type { AssistantPart } from "./model-step.ts";
import { fitReply, type ReplyTruncation } from "./reply-fit.ts";
import type { ScopedTurn } from "./run-scope.ts";
import { TextCoalescer, textDeltaEvents } from "./text-coalescer.ts";
import { gatedTools, type ToolGate } from "./tool-gate.ts";
import type { MapToolRegistry } from "./tool-registry.ts";
import {
  failedOutcome,
  finalEventTypes,
  type StopKind,
  stoppedOutcome,
  stopReason,
  type TurnOutcome,
} from "./turn-outcome.ts";
import type { ConversationInfo, RunnerEvent, TurnRunner, TurnRunnerContext } from "./turn-runner.ts";
import type { MemorySample } from "./types.ts";

export type { ConversationInfo } from "./turn-runner.ts";

/** What a turn needs from the orchestrator. */
export interface TurnRunDeps {
  /** The workspace, or undefined when it no longer exists. */
  workspaceOf(id: string): Promise<Workspace | undefined>;
  /** The run scope that took this turn (a git worktree): its root replaces the workspace's. */
  scoped?: ScopedTurn;
  /** The conversation's runner, or undefined (with the reason) when it is not installed. */
  runner: TurnRunner | { missing: string };
  /** The text of the user's message that started the turn. */
  text: string;
  messageId: string;
  /** Limits this turn was started with (a task's `maxSteps`). */
  limits: { maxSteps?: number };
  /** The conversation's model's context window, when configured. */
  contextWindow: number | undefined;
  store: ConversationStore;
  providers: Pick<ProvidersService, "call">;
  /** The model call gates (read at each call). */
  gates: () => readonly ModelCallGate[];
  /** Errors caught in callbacks nobody awaits (a gate's settle). Must not throw. */
  onFault(kind: string, error: unknown): void;
  acquireSlot(request: AcquireRequest): Promise<Lease>;
  tools: MapToolRegistry;
  /** The gates in front of every tool call of the turn (see `toolGatesPoint`). */
  toolGates: readonly ToolGate[];
  writer: EventWriter;
  ticker: FlushTicker;
  logger: Logger;
  sampleMemory: () => MemorySample;
  config: Pick<OrchestratorConfig, "coalesceBytes" | "turnTimeoutMs">;
  /** Called once the final status is stored, before the final event is published. Must not throw. */
  onSettled(run: TurnRun): void;
  /** Called after the final event is published. Must not throw. */
  onFinished(run: TurnRun, status: TurnStatus): void;
}

/**
 * One turn, from `turn.started` to its single final event, whatever runner does the work: the runner
 * reports through the context's sink; this class gives every event the next `seq` (persisted before
 * it is published), coalesces text, and records the final status, also when the turn is stopped from
 * outside (cancel, deadline, shutdown).
 */
export class TurnRun {
  readonly turn: Turn;
  readonly conversation: ConversationInfo;
  /** Resolves with the final status once the final event is published. Never rejects. */
  readonly settled: Promise<TurnStatus>;
  readonly #deps: TurnRunDeps;
  readonly #controller = new AbortController();
  readonly #logger: Logger;
  #resolveSettled!: (status: TurnStatus) => void;
  #stopKind: StopKind | undefined;
  #status: TurnStatus;
  readonly #coalescer: TextCoalescer;
  #writeFailure: { error: unknown } | undefined;
  /** The first message of this turn that could not be stored. */
  #messageFailure: { error: unknown } | undefined;
  #finalizing: Promise<TurnStatus> | undefined;
  readonly #usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
  /** Replies stored cut (see `fitReply`); the final event lists them. */
  readonly #replyTruncated: ReplyTruncation[] = [];

  constructor(turn: Turn, conversation: ConversationInfo, deps: TurnRunDeps) {
    this.turn = turn;
    this.conversation = conversation;
    this.#deps = deps;
    this.#status = turn.status;
    this.#logger = deps.logger.child({ turnId: turn.id, conversationId: conversation.id });
    this.#coalescer = new TextCoalescer(deps.ticker, deps.config.coalesceBytes, (text) =>
      this.#writeText(text),
    );
    this.settled = new Promise((resolve) => {
      this.#resolveSettled = resolve;
    });
  }

  /** The status last recorded for this turn. */
  get status(): TurnStatus {
    return this.#status;
  }

  /** Aborts the turn; the first reason wins. The loop then records the matching final status. */
  stop(kind: StopKind): void {
    if (this.#controller.signal.aborted) return;
    this.#stopKind = kind;
    this.#controller.abort(stopReason(kind, this.#deps.config.turnTimeoutMs));
  }

  /** Runs the turn in the background; the outcome arrives through `settled`. */
  start(): void {
    void this.#run();
  }

  /**
   * Records the final event and status once; later calls get the same promise. Exposed so shutdown can
   * close a turn whose loop is stuck past the deadline.
   */
  finalize(outcome: TurnOutcome): Promise<TurnStatus> {
    this.#finalizing ??= this.#writeFinal(outcome);
    return this.#finalizing;
  }

  async #run(): Promise<void> {
    let outcome: TurnOutcome;
    try {
      outcome = await this.#runRunner();
    } catch (error) {
      outcome = failedOutcome(messageOf(error));
      if (this.#stopKind === undefined) this.#logger.error("turn failed", { err: error });
    }
    const final = this.#stopped() ?? outcome;
    await this.finalize(await this.#leaveScope(final));
  }

  /** Lets the run scope finish (commit) before the final event, and adds what it reports to it. */
  async #leaveScope(outcome: TurnOutcome): Promise<TurnOutcome> {
    const scoped = this.#deps.scoped;
    if (scoped === undefined) return outcome;
    try {
      const data = await scoped.finish({ turnId: this.turn.id, status: outcome.status });
      return data === undefined ? outcome : { ...outcome, data: { ...outcome.data, ...data } };
    } catch (error) {
      this.#logger.error("the run scope failed to finish the turn", { err: error, scope: scoped.key });
      return outcome;
    }
  }

  async #runRunner(): Promise<TurnOutcome> {
    const conversation = this.conversation;
    // Awaited, though the writer would keep the order without it: not waiting let every stream of a
    // burst start in the same loop turn, and at 200 long streams the delivery p99 went 68.8 → 88.0 ms
    // (notes/benchmarks.md, hot path, round six).
    await this.#emit([
      {
        type: "turn.started",
        data: {
          provider: conversation.provider,
          model: conversation.model,
          runner: conversation.runner,
          memory: this.#sample(),
        },
      },
    ]);
    const { runner } = this.#deps;
    if ("missing" in runner) return failedOutcome(runner.missing, { code: "runner_unavailable" });
    const stored = await this.#deps.workspaceOf(conversation.workspaceId);
    if (stored === undefined)
      return failedOutcome(`workspace "${conversation.workspaceId}" no longer exists`);
    const { scoped } = this.#deps;
    const workspace = scoped === undefined ? stored : { ...stored, root: scoped.root };
    const result = await runner.run(this.#context(workspace));
    if (result.status === "completed") return { status: "completed", data: result.data ?? {} };
    return failedOutcome(result.error, { ...result.data, ...(result.code ? { code: result.code } : {}) });
  }

  #context(workspace: Workspace): TurnRunnerContext {
    const deps = this.#deps;
    const { store } = deps;
    const turnId = this.turn.id;
    const conversationId = this.conversation.id;
    const signal = this.#controller.signal;
    return {
      turn: { id: turnId, promptStartedAt: this.turn.promptStartedAt },
      conversation: this.conversation,
      workspace,
      ...(deps.scoped === undefined ? {} : { scope: { key: deps.scoped.key } }),
      message: { id: deps.messageId, text: deps.text },
      limits: deps.limits,
      ...(deps.contextWindow === undefined ? {} : { contextWindow: deps.contextWindow }),
      signal,
      logger: this.#logger,
      history: () => store.messages.list(conversationId),
      appendMessage: (role, parts) => this.#appendMessage(role, parts),
      emit: (events, status) => this.#emit(events, status),
      text: (delta) => this.#coalescer.push(delta),
      addUsage: ({ inputTokens, outputTokens, cachedInputTokens = 0 }) => {
        this.#usage.inputTokens += inputTokens;
        this.#usage.outputTokens += outputTokens;
        this.#usage.cachedInputTokens += cachedInputTokens;
      },
      tools: gatedTools(deps.tools, deps.toolGates, (events) => this.#emit(events)),
      locks: store.locks,
      providers: gatedProviders(deps.providers, deps.gates, deps.onFault),
      acquireSlot: (providerId) =>
        deps.acquireSlot({
          providerId,
          workspaceId: this.conversation.workspaceId,
          promptStartedAt: this.turn.promptStartedAt,
          signal,
          turnId,
          conversationId,
        }),
    };
  }

  /**
   * Stores a message of this turn through the event writer: in the group commit of its loop turn, in
   * order with the conversation's events. A failure is also kept for the final event, which then
   * fails the turn, so a runner may leave its last message's write unawaited and the final write
   * shares its commit.
   */
  #appendMessage(role: "assistant" | "tool", parts: MessagePart[]): Promise<void> {
    const { store, writer } = this.#deps;
    // A reply longer than a message may hold is stored cut, with a marker, rather than lost.
    const fitted: { parts: MessagePart[]; truncated?: ReplyTruncation } =
      role === "assistant" ? fitReply(parts as AssistantPart[], store.messages.maxTextBytes) : { parts };
    if (fitted.truncated !== undefined) {
      this.#replyTruncated.push(fitted.truncated);
      this.#logger.warn("the reply was longer than a message holds; stored cut", { ...fitted.truncated });
    }
    const message = { conversationId: this.conversation.id, turnId: this.turn.id, role, parts: fitted.parts };
    const written = writer
      .write(message.conversationId, [], {
        afterPersist: async () => {
          try {
            await store.messages.append(message);
          } catch (error) {
            // Seen by a final event later in the same group, before this write's promise settles.
            this.#messageFailure ??= { error };
            throw error;
          }
        },
      })
      .then(() => undefined);
    written.catch((error: unknown) => {
      this.#messageFailure ??= { error };
    });
    return written;
  }

  /** Persists (then publishes) events of this turn, after any buffered text, optionally moving the status. */
  async #emit(events: readonly RunnerEvent[], status?: TurnStatus): Promise<void> {
    const batch = [...this.#pendingText(), ...events.map((event) => ({ ...event, turnId: this.turn.id }))];
    const move = status !== undefined && status !== this.#status ? status : undefined;
    if (move !== undefined) this.#status = move;
    if (batch.length > 0) {
      const { store, writer } = this.#deps;
      await writer.write(
        this.conversation.id,
        batch,
        move === undefined ? undefined : { afterPersist: () => store.turns.setStatus(this.turn.id, move) },
      );
    }
    if (this.#writeFailure !== undefined) throw this.#writeFailure.error;
  }

  #pendingText(): NewEvent[] {
    const text = this.#coalescer.take();
    return text === undefined ? [] : textDeltaEvents(this.turn.id, text);
  }

  /** The flush tick's path: not awaited by the loop; a failure fails the turn at its next event. */
  #writeText(text: string): void {
    this.#deps.writer
      .write(this.conversation.id, textDeltaEvents(this.turn.id, text))
      .catch((error: unknown) => {
        this.#writeFailure ??= { error };
      });
  }

  #stopped(): TurnOutcome | undefined {
    if (this.#stopKind === undefined) return undefined;
    return stoppedOutcome(this.#stopKind, this.#deps.config.turnTimeoutMs);
  }

  /** A sampler that throws must not leave the turn without its final event. */
  #sample(): MemorySample {
    try {
      const { rssBytes, heapUsedBytes } = this.#deps.sampleMemory();
      return { rssBytes, heapUsedBytes };
    } catch (error) {
      this.#logger.warn("memory sampler failed; using process.memoryUsage()", { err: error });
      const usage = process.memoryUsage();
      return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed };
    }
  }

  async #writeFinal(outcome: TurnOutcome): Promise<TurnStatus> {
    const { store, writer } = this.#deps;
    const text = this.#pendingText();
    const memory = this.#sample();
    let final = outcome;
    this.#status = final.status;
    // Decided when the write's turn in its group comes: a message write queued before it (the reply,
    // often in the same group) has been tried by then, and a reply that was not stored fails the turn.
    const events = () => {
      final = this.#withMessageFailure(outcome);
      this.#status = final.status;
      const data = {
        ...final.data,
        ...(final.error === undefined ? {} : { error: final.error }),
        usage: { ...this.#usage },
        ...(this.#replyTruncated.length > 0 ? { replyTruncated: [...this.#replyTruncated] } : {}),
        memory,
      };
      return [...text, { type: finalEventTypes[final.status], turnId: this.turn.id, data }];
    };
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      this.#deps.onSettled(this);
    };
    try {
      await writer.write(this.conversation.id, events, {
        // In the final event's transaction; the run is untracked once both are committed.
        afterPersist: () => store.turns.setStatus(this.turn.id, final.status, final.error ?? null),
        beforePublish: settle,
      });
    } catch (writeError) {
      // The store refused the end of the turn; crash recovery marks it interrupted at the next start.
      this.#logger.error("could not record the end of the turn", { err: writeError, status: final.status });
    }
    settle();
    this.#deps.onFinished(this, final.status);
    this.#resolveSettled(final.status);
    return final.status;
  }

  /** A turn that would complete fails when one of its messages could not be stored. */
  #withMessageFailure(outcome: TurnOutcome): TurnOutcome {
    const failure = this.#messageFailure;
    if (failure === undefined || outcome.status !== "completed") return outcome;
    this.#logger.error("a message of the turn could not be stored", { err: failure.error });
    return failedOutcome(`a message of the turn could not be stored: ${messageOf(failure.error)}`, {
      ...outcome.data,
      code: "store_error",
    });
  }
}
