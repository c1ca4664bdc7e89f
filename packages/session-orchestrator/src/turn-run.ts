import type { ConversationStore, NewEvent, Turn } from "@dispatch/conversation-store";
import { type Logger, messageOf } from "@dispatch/kernel";
import type { ModelRequest, ProvidersService } from "@dispatch/providers";
import type { Conversation, TurnStatus, Workspace } from "@dispatch/wire";
import type { OrchestratorConfig } from "./config.ts";
import type { EventWriter } from "./event-writer.ts";
import type { FlushTicker } from "./flush-ticker.ts";
import { toModelMessages } from "./model-messages.ts";
import { type StepAnswer, streamModelStep } from "./model-step.ts";
import { fitReply, type ReplyTruncation } from "./reply-fit.ts";
import { buildSystemPrompt, readAgentsFile } from "./system-prompt.ts";
import { TextCoalescer, textDeltaEvents } from "./text-coalescer.ts";
import { executeToolCall, type ToolCallResult, toolResultEventData } from "./tool-execution.ts";
import type { MapToolRegistry } from "./tool-registry.ts";
import {
  failedOutcome,
  finalEventTypes,
  type StopKind,
  stoppedOutcome,
  stopReason,
  type TurnOutcome,
} from "./turn-outcome.ts";
import type { MemorySample } from "./types.ts";

/** The parts of a conversation a turn uses; none of them can change after the conversation is created. */
export type ConversationInfo = Pick<Conversation, "id" | "workspaceId" | "provider" | "model">;

/** What a turn needs from the orchestrator. */
export interface TurnRunDeps {
  /** The workspace, or undefined when it no longer exists. */
  workspaceOf(id: string): Promise<Workspace | undefined>;
  store: ConversationStore;
  providers: Pick<ProvidersService, "stream">;
  tools: MapToolRegistry;
  writer: EventWriter;
  ticker: FlushTicker;
  logger: Logger;
  sampleMemory: () => MemorySample;
  config: Pick<OrchestratorConfig, "maxSteps" | "coalesceBytes" | "systemPrompt" | "turnTimeoutMs">;
  /** Called once the final status is stored, before the final event is published. Must not throw. */
  onSettled(run: TurnRun): void;
  /** Called after the final event is published. Must not throw. */
  onFinished(run: TurnRun, status: TurnStatus): void;
}

/** An event of this turn before the store gives it a `seq`. */
type TurnEvent = Omit<NewEvent, "turnId">;

/**
 * One turn, from `turn.started` to its single final event. The loop (DESIGN §5): build the request,
 * stream one model call through the providers service (which holds a slot only while it streams), run
 * the requested tools with no slot held, repeat until the model answers without tools or `maxSteps`.
 * Every event goes through the conversation's writer, so it is persisted before it is published.
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
  #coalescer: TextCoalescer | undefined;
  #writeFailure: { error: unknown } | undefined;
  #finalizing: Promise<TurnStatus> | undefined;
  #steps = 0;
  readonly #usage = { inputTokens: 0, outputTokens: 0 };
  /** Steps whose reply was stored cut (see `fitReply`); the final event lists them. */
  readonly #replyTruncated: Array<ReplyTruncation & { step: number }> = [];

  constructor(turn: Turn, conversation: ConversationInfo, deps: TurnRunDeps) {
    this.turn = turn;
    this.conversation = conversation;
    this.#deps = deps;
    this.#status = turn.status;
    this.#logger = deps.logger.child({ turnId: turn.id, conversationId: conversation.id });
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
      outcome = await this.#loop();
    } catch (error) {
      outcome = this.#stopped() ?? failedOutcome(messageOf(error));
      if (this.#stopKind === undefined) this.#logger.error("turn failed", { err: error });
    }
    await this.finalize(outcome);
  }

  async #loop(): Promise<TurnOutcome> {
    const { store, config, tools } = this.#deps;
    const conversation = this.conversation;
    await this.#emit([
      {
        type: "turn.started",
        data: { provider: conversation.provider, model: conversation.model, memory: this.#sample() },
      },
    ]);
    const workspace = await this.#deps.workspaceOf(conversation.workspaceId);
    if (workspace === undefined)
      return failedOutcome(`workspace "${conversation.workspaceId}" no longer exists`);
    const [history, agentsFile] = await Promise.all([
      store.messages.list(conversation.id),
      readAgentsFile(workspace),
    ]);
    const definitions = tools.list();
    const request: ModelRequest = {
      model: conversation.model,
      system: buildSystemPrompt({ workspace, tools: definitions, agentsFile, extra: config.systemPrompt }),
      messages: toModelMessages(history),
      tools: definitions.map((tool) => tools.specOf(tool)),
    };
    for (let step = 1; step <= config.maxSteps; step += 1) {
      const before = this.#stopped();
      if (before) return before;
      this.#steps = step;
      const answer = await this.#modelStep(step, request);
      if (answer.parts.length > 0) {
        // A reply longer than a message may hold is stored cut, with a marker, rather than lost.
        const { parts, truncated } = fitReply(answer.parts, store.messages.maxTextBytes);
        if (truncated !== undefined) {
          this.#replyTruncated.push({ step, ...truncated });
          this.#logger.warn("the model's reply was longer than a message holds; stored cut", {
            step,
            ...truncated,
          });
        }
        await store.messages.append({
          conversationId: conversation.id,
          turnId: this.turn.id,
          role: "assistant",
          parts,
        });
        request.messages.push({ role: "assistant", parts });
      }
      const stopped = this.#stopped();
      if (stopped) return stopped;
      if (answer.error !== undefined) {
        return failedOutcome(answer.error.message, { code: answer.error.code, step });
      }
      if (answer.calls.length === 0)
        return { status: "completed", data: { finishReason: answer.finishReason } };
      const results = await this.#runTools(workspace, answer);
      await store.messages.append({
        conversationId: conversation.id,
        turnId: this.turn.id,
        role: "tool",
        parts: results.map((r) => ({ type: "tool-result", ...r })),
      });
      request.messages.push({ role: "tool", results });
      const afterTools = this.#stopped();
      if (afterTools) return afterTools;
    }
    return failedOutcome(
      `reached maxSteps (${config.maxSteps}) while the model was still calling tools; the turn stopped there`,
      { code: "max_steps" },
    );
  }

  async #modelStep(step: number, request: ModelRequest): Promise<StepAnswer> {
    const deps = this.#deps;
    const coalescer = new TextCoalescer(deps.ticker, deps.config.coalesceBytes, (text) =>
      this.#writeText(text),
    );
    this.#coalescer = coalescer;
    const answer = await streamModelStep({
      step,
      providerId: this.conversation.provider,
      request: { ...request, messages: [...request.messages] },
      providers: deps.providers,
      context: {
        signal: this.#controller.signal,
        workspaceId: this.conversation.workspaceId,
        conversationId: this.conversation.id,
        turnId: this.turn.id,
        promptStartedAt: this.turn.promptStartedAt,
      },
      onText: (text) => coalescer.push(text),
      emit: (events, status) => this.#emit(events, status),
    });
    this.#usage.inputTokens += answer.usage.inputTokens;
    this.#usage.outputTokens += answer.usage.outputTokens;
    await this.#emit([]);
    this.#coalescer = undefined;
    return answer;
  }

  async #runTools(workspace: Workspace, answer: StepAnswer): Promise<ToolCallResult[]> {
    const results: ToolCallResult[] = [];
    for (const call of answer.calls) {
      const context = {
        workspace,
        conversationId: this.conversation.id,
        turnId: this.turn.id,
        signal: this.#controller.signal,
        logger: this.#logger.child({ tool: call.toolName, toolCallId: call.toolCallId }),
      };
      const result = await executeToolCall(call, this.#deps.tools, context, () => this.#abortedToolOutput());
      results.push(result);
      await this.#emit([{ type: "tool.result", data: toolResultEventData(result) }]);
    }
    return results;
  }

  #abortedToolOutput(): string {
    const reason = this.#controller.signal.reason;
    return `The tool did not run to the end: ${messageOf(reason)}.`;
  }

  /** Persists (then publishes) events of this turn, after any buffered text, optionally moving the status. */
  async #emit(events: readonly TurnEvent[], status?: TurnStatus): Promise<void> {
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
    const text = this.#coalescer?.take();
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
    const { status, error } = outcome;
    const data = {
      ...outcome.data,
      ...(error === undefined ? {} : { error }),
      steps: this.#steps,
      ...(this.#replyTruncated.length > 0 ? { replyTruncated: [...this.#replyTruncated] } : {}),
      usage: { ...this.#usage },
      memory: this.#sample(),
    };
    const batch = [...this.#pendingText(), { type: finalEventTypes[status], turnId: this.turn.id, data }];
    this.#coalescer = undefined;
    this.#status = status;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      this.#deps.onSettled(this);
    };
    try {
      await writer.write(this.conversation.id, batch, {
        afterPersist: async () => {
          try {
            await store.turns.setStatus(this.turn.id, status, error ?? null);
          } finally {
            settle();
          }
        },
      });
    } catch (writeError) {
      // The store refused the end of the turn; crash recovery marks it interrupted at the next start.
      this.#logger.error("could not record the end of the turn", { err: writeError, status });
    }
    settle();
    this.#deps.onFinished(this, status);
    this.#resolveSettled(status);
    return status;
  }
}
